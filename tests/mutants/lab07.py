"""Plausible wrong answers for Lab 07 and the tests that must catch them."""

_STRING = '''def build_string_classifier(vectorizer, embedding_dim=64, units=64, mask_zero=True):
    return keras.Sequential([
        keras.Input(shape=(1,), dtype="string"),
        vectorizer,
        keras.layers.Embedding(%(input_dim)s, embedding_dim, mask_zero=%(mask)s),
        keras.layers.SimpleRNN(units),
        keras.layers.Dense(1%(activation)s),
    ])
'''
_STRING_OK = {"input_dim": "vectorizer.vocabulary_size()", "mask": "mask_zero", "activation": ', activation="sigmoid"'}

_STACKED = '''def build_stacked_bilstm(vectorizer, units=(64, 32), embedding_dim=64):
    layers = [keras.Input(shape=(1,), dtype="string"), vectorizer,
              keras.layers.Embedding(vectorizer.vocabulary_size(), embedding_dim, mask_zero=%(mask)s)]
    for i, u in enumerate(units):
        last = i == len(units) - 1
        layers.append(%(wrap_open)skeras.layers.LSTM(u, return_sequences=%(return_sequences)s)%(wrap_close)s)
    layers.append(keras.layers.Dense(1, activation="sigmoid"))
    return keras.Sequential(layers)
'''
_STACKED_OK = {"mask": "True", "wrap_open": "keras.layers.Bidirectional(", "wrap_close": ")",
               "return_sequences": "not last"}

MUTANTS = [
    {
        # The Embedding's size comes from the notebook's vocab_size, not from the vectorizer: right
        # for the notebook's own vectorizer, wrong for a vectorizer with another vocabulary size.
        "name": "embedding-size-from-global-vocab-size",
        "cell": "build_string_classifier",
        "source": _STRING % dict(_STRING_OK, input_dim="vocab_size"),
        "fails": ["test_string_classifier_hidden"],
        "says": ['hidden: with another vectorizer the Embedding has the wrong size'],
    },
    {
        # A number typed in (the lesson-scale vocabulary size).
        "name": "embedding-size-typed-in",
        "cell": "build_string_classifier",
        "source": _STRING % dict(_STRING_OK, input_dim="20_000"),
        "fails": ["test_string_classifier_visible", "test_string_classifier_hidden"],
        "says": ['the Embedding needs vectorizer.vocabulary_size() rows'],
    },
    {
        # mask_zero ignored: same layers and parameters, but padding changes predictions.
        "name": "string-classifier-without-mask",
        "cell": "build_string_classifier",
        "source": _STRING % dict(_STRING_OK, mask="False"),
        "fails": ["test_string_classifier_hidden"],
        "says": ['hidden: padding changed a prediction: is the mask on (mask_zero)?'],
    },
    {
        # Logits instead of a probability: same shapes and parameter count.
        "name": "string-classifier-without-sigmoid",
        "cell": "build_string_classifier",
        "source": _STRING % dict(_STRING_OK, activation=""),
        "fails": ["test_string_classifier_hidden"],
        "says": ['hidden: the last layer must give a probability, sigmoid on one unit'],
    },
    {
        # The vectorizer left out: the model eats ids, not strings.
        "name": "string-classifier-without-vectorizer",
        "cell": "build_string_classifier",
        "source": '''def build_string_classifier(vectorizer, embedding_dim=64, units=64, mask_zero=True):
    return keras.Sequential([
        keras.Input(shape=(None,), dtype="int64"),
        keras.layers.Embedding(vectorizer.vocabulary_size(), embedding_dim, mask_zero=mask_zero),
        keras.layers.SimpleRNN(units),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
''',
        "fails": ["test_string_classifier_visible", "test_string_classifier_hidden"],
        "says": ['expected TextVectorization, Embedding, SimpleRNN, Dense'],
    },
    {
        # The mean of per-batch fractions: right only when all batches have the same shape.
        "name": "padding-fraction-mean-of-batches",
        "cell": "padding_fraction",
        "source": '''def padding_fraction(batches):
    return float(np.mean([(np.asarray(b) == 0).mean() for b in batches]))
''',
        "fails": ["test_padding_fraction_hidden"],
        "says": ['hidden: batches of different shapes'],
    },
    {
        # The fraction of real tokens instead of padding.
        "name": "padding-fraction-of-tokens",
        "cell": "padding_fraction",
        "source": '''def padding_fraction(batches):
    batches = [np.asarray(b) for b in batches]
    return float(sum((b != 0).sum() for b in batches) / sum(b.size for b in batches))
''',
        "fails": ["test_padding_fraction_visible", "test_padding_fraction_hidden"],
        "says": ['7 of the 16 ids are padding'],
    },
    {
        # The first layer returns only its last state: the second LSTM gets no sequence to read.
        "name": "stacked-first-without-return-sequences",
        "cell": "build_stacked_bilstm",
        "source": _STACKED % dict(_STACKED_OK, return_sequences="False"),
        "fails": ["test_stacked_visible", "test_stacked_hidden"],
        "says": ['the first BiLSTM must return the whole sequence'],
    },
    {
        # Every layer returns sequences: one prediction per step instead of per review.
        "name": "stacked-all-return-sequences",
        "cell": "build_stacked_bilstm",
        "source": _STACKED % dict(_STACKED_OK, return_sequences="True"),
        "fails": ["test_stacked_visible", "test_stacked_hidden"],
        "says": ['one probability per review: the last LSTM returns its last state only'],
    },
    {
        # No mask: right shapes and counts, but padding leaks into both directions.
        "name": "stacked-without-mask",
        "cell": "build_stacked_bilstm",
        "source": _STACKED % dict(_STACKED_OK, mask="False"),
        "fails": ["test_stacked_visible", "test_stacked_hidden"],
        "says": ['padding changed a prediction: mask_zero=True on the Embedding'],
    },
    {
        # Plain LSTMs, not Bidirectional: half the parameters.
        "name": "stacked-not-bidirectional",
        "cell": "build_stacked_bilstm",
        "source": _STACKED % dict(_STACKED_OK, wrap_open="", wrap_close=""),
        "fails": ["test_stacked_visible", "test_stacked_hidden"],
        "says": ['expected TextVectorization, Embedding, then one Bidirectional(LSTM) per entry of units'],
    },
    {
        # Exactly two layers whatever units holds: right for the default, wrong for (4, 3, 2) or (3,).
        "name": "stacked-always-two-layers",
        "cell": "build_stacked_bilstm",
        "source": '''def build_stacked_bilstm(vectorizer, units=(64, 32), embedding_dim=64):
    return keras.Sequential([
        keras.Input(shape=(1,), dtype="string"),
        vectorizer,
        keras.layers.Embedding(vectorizer.vocabulary_size(), embedding_dim, mask_zero=True),
        keras.layers.Bidirectional(keras.layers.LSTM(units[0], return_sequences=True)),
        keras.layers.Bidirectional(keras.layers.LSTM(units[-1])),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
''',
        "fails": ["test_stacked_hidden"],
        "says": ['hidden: units=(4, 3, 2) must give three Bidirectional layers'],
    },
    {
        # Softmax over the single output unit of the stacked model: every review gets 1.0, with the
        # right layers, shapes and parameter count.
        "name": "stacked-softmax-output",
        "cell": "build_stacked_bilstm",
        "source": (_STACKED % _STACKED_OK).replace('Dense(1, activation="sigmoid")', 'Dense(1, activation="softmax")'),
        "fails": ["test_stacked_hidden"],
        "says": ['hidden: the last layer must give a probability, sigmoid on one unit'],
    },
]
