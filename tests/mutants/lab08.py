"""Plausible wrong answers for Lab 08 and the tests that must catch them."""

_PAIRS = '''def skipgram_pairs(ids, window_size, num_negative, probs, rng):
    ids = np.asarray(ids)
    targets, contexts = [], []
    for i, target in enumerate(ids):
        %(skip_target)s
        for j in range(max(0, i - window_size), min(len(ids), i + window_size + 1)):
            if j != i%(keep_context)s:
                targets.append(target)
                contexts.append(ids[j])
    num_pos = len(targets)
    negatives = %(draw)s
    targets = np.concatenate([np.asarray(targets, dtype="int32"),
                              np.repeat(np.asarray(targets, dtype="int32"), num_negative)])
    contexts = np.concatenate([np.asarray(contexts, dtype="int32"), negatives.astype("int32")])
    labels = np.concatenate([np.ones(num_pos, dtype="int32"), np.zeros(num_pos * num_negative, dtype="int32")])
    return targets, contexts, labels
'''
_BY_PROBS = "rng.choice(len(probs), size=num_pos * num_negative, p=probs)"

MUTANTS = [
    {
        # The fourth named mistake: the test reviews go into the pretraining corpus too
        # ("they have no labels, so it is fine").
        "name": "pretrain-on-test-split",
        "cell": "pretraining_corpus",
        "source": '''def pretraining_corpus(splits):
    return np.concatenate([np.asarray(texts, dtype=object) for texts in splits.values()])
''',
        "fails": ["test_corpus_visible", "test_corpus_hidden"],
        "says": ['the test split is what we score on: never pretrain on it', 'hidden: a test review was pretrained on'],
    },
    {
        # Keeps only the splits called train and unsupervised, hard-coded: right on the notebook's
        # splits, wrong on the hidden test's extra split.
        "name": "corpus-hard-coded-names",
        "cell": "pretraining_corpus",
        "source": '''def pretraining_corpus(splits):
    return np.concatenate([np.asarray(splits[name], dtype=object) for name in ("train", "unsupervised") if name in splits])
''',
        "fails": ["test_corpus_hidden"],
        "says": ['hidden: keep the order of the splits and of their texts'],
    },
    {
        # Raw unigram frequencies, no 0.75 power.
        "name": "negatives-raw-frequency",
        "cell": "negative_sampling_distribution",
        "source": '''def negative_sampling_distribution(counts):
    p = np.asarray(counts, dtype="float64")
    p[:2] = 0.0
    return p / p.sum()
''',
        "fails": ["test_negative_distribution_visible", "test_negative_distribution_hidden"],
        "says": ['P(i) is proportional to count ** 0.75', 'hidden: the flattened unigram distribution, count ** 0.75'],
    },
    {
        # The second named mistake: padding (and unknown words) become targets and contexts.
        "name": "pairs-include-padding",
        "cell": "skipgram_pairs",
        "source": _PAIRS % {"skip_target": "pass", "keep_context": "", "draw": _BY_PROBS},
        "fails": ["test_skipgram_pairs_visible", "test_skipgram_pairs_hidden"],
        "says": ['padding (id 0) is never a target or a context', "hidden: the positive pairs must be every real word with every real word at most window_size positions away: check the window's edges, and skip padding (0) and unknown words (1) while still counting their positions"],
    },
    {
        # Skips padding but not the unknown word: only the hidden test has [UNK] in a review.
        "name": "pairs-include-unknown-word",
        "cell": "skipgram_pairs",
        "source": _PAIRS % {"skip_target": "if target == 0:\n            continue",
                            "keep_context": " and ids[j] != 0", "draw": _BY_PROBS},
        "fails": ["test_skipgram_pairs_hidden"],
        "says": ["hidden: the positive pairs must be every real word with every real word at most window_size positions away: check the window's edges, and skip padding (0) and unknown words (1) while still counting their positions"],
    },
    {
        # The third named mistake: negatives drawn uniformly from the real words, probs ignored.
        "name": "negatives-drawn-uniformly",
        "cell": "skipgram_pairs",
        "source": _PAIRS % {"skip_target": "if target < 2:\n            continue", "keep_context": " and ids[j] >= 2",
                            "draw": "rng.integers(2, len(probs), size=num_pos * num_negative)"},
        "fails": ["test_skipgram_pairs_hidden"],
        "says": ['hidden: negatives must be drawn from probs, not uniformly'],
    },
    {
        # One table for targets and contexts: half the parameters.
        "name": "skipgram-shared-embedding",
        "cell": "build_skipgram",
        "source": '''def build_skipgram(vocab_size, embedding_dim):
    target = keras.Input(shape=(), dtype="int32")
    context = keras.Input(shape=(), dtype="int32")
    table = keras.layers.Embedding(vocab_size, embedding_dim, name="target_embedding")
    score = keras.layers.Dot(axes=1)([table(target), table(context)])
    return keras.Model([target, context], keras.layers.Activation("sigmoid")(score))
''',
        "fails": ["test_skipgram_visible", "test_skipgram_hidden"],
        "says": ['two embeddings and no other weights', 'hidden: a target table and a separate context table, and no other weights'],
    },
    {
        # The tables swapped: the target is looked up in the context table.
        "name": "skipgram-tables-swapped",
        "cell": "build_skipgram",
        "source": '''def build_skipgram(vocab_size, embedding_dim):
    target = keras.Input(shape=(), dtype="int32")
    context = keras.Input(shape=(), dtype="int32")
    t = keras.layers.Embedding(vocab_size, embedding_dim, name="context_embedding")(target)
    c = keras.layers.Embedding(vocab_size, embedding_dim, name="target_embedding")(context)
    score = keras.layers.Dot(axes=1)([t, c])
    return keras.Model([target, context], keras.layers.Activation("sigmoid")(score))
''',
        "fails": ["test_skipgram_hidden"],
        "says": ['hidden: sigmoid of target-vector . context-vector (inputs in the order [target, context])'],
    },
    {
        # The first named mistake: the matrix is off by one row (the padding row forgotten,
        # so vocab[1] lands in row 0, vocab[2] in row 1, ...).
        "name": "embedding-matrix-off-by-one-row",
        "cell": "embedding_matrix",
        "source": '''def embedding_matrix(vocab, vectors, embedding_dim):
    matrix = np.zeros((len(vocab), embedding_dim), dtype="float32")
    for i, word in enumerate(vocab[1:]):
        if word in vectors:
            matrix[i] = vectors[word]
    return matrix
''',
        "fails": ["test_embedding_matrix_visible", "test_embedding_matrix_hidden"],
        "says": ['row i must hold the vector of vocab[i]: row 0 is the padding, row 1 the unknown word', "hidden: row 1 ('[UNK]') has no pretrained vector: it must be zero"],
    },
    {
        # Words without a vector get a random row instead of zeros: right on the visible test's
        # words (all have vectors except the two special rows, kept at zero), wrong on the hidden test.
        "name": "embedding-matrix-random-unseen-rows",
        "cell": "embedding_matrix",
        "source": '''def embedding_matrix(vocab, vectors, embedding_dim):
    matrix = np.random.default_rng(0).normal(size=(len(vocab), embedding_dim)).astype("float32")
    matrix[:2] = 0.0
    for i, word in enumerate(vocab):
        if word in vectors:
            matrix[i] = vectors[word]
    return matrix
''',
        "fails": ["test_embedding_matrix_hidden"],
        "says": ["hidden: row 3 ('w1') has no pretrained vector: it must be zero"],
    },
    {
        # The matrix is never loaded: the embedding starts from random numbers.
        "name": "pretrained-lstm-ignores-matrix",
        "cell": "build_pretrained_lstm",
        "source": '''def build_pretrained_lstm(embedding_matrix, maxlen, units=100, trainable=True):
    vocab_size, embedding_dim = embedding_matrix.shape
    return keras.Sequential([
        keras.Input(shape=(maxlen,)),
        keras.layers.Embedding(vocab_size, embedding_dim, trainable=trainable),
        keras.layers.LSTM(units),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
''',
        "fails": ["test_pretrained_lstm_visible", "test_pretrained_lstm_hidden"],
        "says": ['the embedding must start from the pretrained matrix', 'hidden: a frozen embedding must hold the pretrained matrix too'],
    },
    {
        # trainable ignored: the embedding is always fine-tuned.
        "name": "pretrained-lstm-never-frozen",
        "cell": "build_pretrained_lstm",
        "source": '''def build_pretrained_lstm(embedding_matrix, maxlen, units=100, trainable=True):
    vocab_size, embedding_dim = embedding_matrix.shape
    return keras.Sequential([
        keras.Input(shape=(maxlen,)),
        keras.layers.Embedding(vocab_size, embedding_dim,
                               embeddings_initializer=keras.initializers.Constant(embedding_matrix)),
        keras.layers.LSTM(units),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
''',
        "fails": ["test_pretrained_lstm_hidden"],
        "says": ['hidden: trainable=False must freeze the embedding'],
    },
]
