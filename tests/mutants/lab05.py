"""Plausible wrong answers for Lab 05 and the tests that must catch them."""

_TABLE = '''class CharacterTable:
    def __init__(self, chars):
        self.chars = sorted(set(chars))
        self.char_indices = {c: i for i, c in enumerate(self.chars)}
        self.indices_char = {i: c for i, c in enumerate(self.chars)}

    def encode(self, C, num_rows):
%(encode)s

    def decode(self, x, calc_argmax=True):
%(decode)s
'''
_ENCODE = '''        x = np.zeros((num_rows, len(self.chars)), dtype="float32")
        for i, c in enumerate(C):
            x[i, self.char_indices[c]] = 1
        return x'''
_DECODE = '''        x = np.asarray(x)
        if calc_argmax:
            x = x.argmax(axis=-1)
        return "".join(self.indices_char[int(i)] for i in x)'''

_SEQ2SEQ = '''def build_seq2seq(num_chars, maxlen_in, maxlen_out, hidden):
    return keras.Sequential([
        keras.Input(shape=(maxlen_in, num_chars)),
        keras.layers.LSTM(hidden),
        keras.layers.RepeatVector(maxlen_out),
        keras.layers.LSTM(hidden%(decoder)s),
        keras.layers.TimeDistributed(keras.layers.Dense(num_chars%(activation)s)),
    ])
'''

MUTANTS = [
    {
        # Always takes the argmax, so an index vector (calc_argmax=False) decodes to one character.
        "name": "decode-always-argmax",
        "cell": "character_table",
        "source": _TABLE % {"encode": _ENCODE, "decode": '''        x = np.asarray(x).argmax(axis=-1)
        return "".join(self.indices_char[int(i)] for i in np.atleast_1d(x))'''},
        "fails": ["test_ctable_visible", "test_ctable_hidden"],
        "says": ['with calc_argmax=False, x holds indices'],
    },
    {
        # Never takes the argmax: one-hot rows cannot be decoded.
        "name": "decode-never-argmax",
        "cell": "character_table",
        "source": _TABLE % {"encode": _ENCODE, "decode": '''        return "".join(self.indices_char[int(i)] for i in np.asarray(x).ravel())'''},
        "fails": ["test_ctable_visible", "test_ctable_hidden"],
        "says": ['decode(encode(s)) must give s back'],
    },
    {
        # One row per character of C, whatever num_rows says: no padding rows.
        "name": "encode-ignores-num-rows",
        "cell": "character_table",
        "source": _TABLE % {"encode": '''        x = np.zeros((len(C), len(self.chars)), dtype="float32")
        for i, c in enumerate(C):
            x[i, self.char_indices[c]] = 1
        return x''', "decode": _DECODE},
        "fails": ["test_ctable_hidden"],
        "says": ['hidden: encode must return (num_rows, number of characters in the alphabet)'],
    },
    {
        # The decoder returns only its last state: nothing left to produce maxlen_out characters.
        "name": "decoder-without-return-sequences",
        "cell": "build_seq2seq",
        "source": _SEQ2SEQ % {"decoder": "", "activation": ', activation="softmax"'},
        "fails": ["test_seq2seq_visible", "test_seq2seq_hidden"],
        "says": ['output must be (batch, maxlen_out, num_chars)'],
    },
    {
        # Logits instead of probabilities: same shapes and parameter count, so only the hidden
        # softmax check can tell.
        "name": "dense-without-softmax",
        "cell": "build_seq2seq",
        "source": _SEQ2SEQ % {"decoder": ", return_sequences=True", "activation": ""},
        "fails": ["test_seq2seq_hidden"],
        "says": ['hidden: each step must output a probability over the characters (softmax'],
    },
    {
        # Averages per character, as Keras' accuracy metric does: 3 right digits of 4 count 75 %.
        "name": "exact-match-per-character",
        "cell": "exact_match",
        "source": '''def exact_match(model, X, Y):
    predicted = model.predict(X, verbose=0).argmax(axis=-1)
    return float((predicted == np.asarray(Y).argmax(axis=-1)).mean())
''',
        "fails": ["test_exact_match_visible", "test_exact_match_hidden"],
        "says": ['2 of 4 answers are exactly right, so 0.5'],
    },
    {
        # The visible example's answer typed in: right on the visible test, wrong everywhere else.
        "name": "exact-match-hard-coded",
        "cell": "exact_match",
        "source": '''def exact_match(model, X, Y):
    return 0.5
''',
        "fails": ["test_exact_match_hidden"],
        "says": ["hidden: answers with one wrong character are not exact matches"],
    },
]
