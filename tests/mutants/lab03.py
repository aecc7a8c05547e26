"""Plausible wrong answers for Lab 03 and the tests that must catch them."""

_CNN = '''def build_cnn(vocab_size, maxlen, embedding_dim, filters=200, kernel_size=%(default)s, units=250):
    return keras.Sequential([
        keras.Input(shape=(maxlen,)),
        keras.layers.Embedding(vocab_size, embedding_dim),
        keras.layers.Conv1D(filters, %(kernel)s, padding="same", activation="relu"),
        keras.layers.GlobalMaxPooling1D(),
        keras.layers.Dense(units, activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
'''

_BILSTM = '''def build_bilstm(vocab_size, maxlen, embedding_dim, units=64, dense_units=64):
    return keras.Sequential([
        keras.Input(shape=(maxlen,)),
        keras.layers.Embedding(vocab_size, embedding_dim%(mask)s),
        %(rnn)s,
        keras.layers.Dense(dense_units, activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
'''

MUTANTS = [
    {
        # The first named mistake: the ids go straight into the LSTM, no Embedding.
        "name": "lstm-without-embedding",
        "cell": "build_lstm",
        "source": '''def build_lstm(vocab_size, maxlen, embedding_dim, units=100):
    return keras.Sequential([
        keras.Input(shape=(maxlen,)),
        keras.layers.LSTM(units),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
''',
        "fails": ["test_lstm_visible", "test_lstm_hidden"],
        "says": ['expected ndim=3'],
    },
    {
        # The second: a CNN with the wrong kernel size (5 instead of the 3 asked for).
        "name": "cnn-wrong-kernel-size",
        "cell": "build_cnn",
        "source": _CNN % {"default": "5", "kernel": "kernel_size"},
        "fails": ["test_cnn_visible", "test_cnn_hidden"],
        "says": ['check kernel_size (3) and the filters'],
    },
    {
        # Kernel 3 hard-coded: right at the default sizes, so only the hidden test (kernel 5) catches it.
        "name": "cnn-kernel-hard-coded",
        "cell": "build_cnn",
        "source": _CNN % {"default": "3", "kernel": "3"},
        "fails": ["test_cnn_hidden"],
        "says": ['hidden: Conv1D must use the filters and kernel_size arguments'],
    },
    {
        # The third: the LSTM of CNN+LSTM returns every step, so the output is (batch, steps, 1).
        "name": "cnn-lstm-return-sequences",
        "cell": "build_cnn_lstm",
        "source": '''def build_cnn_lstm(vocab_size, maxlen, embedding_dim, filters=64, kernel_size=3, pool_size=4, units=100):
    return keras.Sequential([
        keras.Input(shape=(maxlen,)),
        keras.layers.Embedding(vocab_size, embedding_dim),
        keras.layers.Conv1D(filters, kernel_size, padding="same", activation="relu"),
        keras.layers.MaxPooling1D(pool_size),
        keras.layers.LSTM(units, return_sequences=True),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
''',
        "fails": ["test_cnn_lstm_visible", "test_cnn_lstm_hidden"],
        "says": ['the LSTM must return its last state only'],
    },
    {
        # Counts the weights but forgets the biases.
        "name": "count-without-biases",
        "cell": "count_ffn_ids_params",
        "source": '''def count_ffn_ids_params(maxlen, units):
    return maxlen * units + units
''',
        "fails": ["test_count_ffn_ids_visible", "test_count_ffn_ids_hidden"],
        "says": ['200 x 250 weights + 250 biases'],
    },
    {
        # The visible answer typed in as a constant.
        "name": "count-hard-coded",
        "cell": "count_ffn_ids_params",
        "source": '''def count_ffn_ids_params(maxlen, units):
    return 50_501
''',
        "fails": ["test_count_ffn_ids_hidden"],
        "says": ['hidden: wrong for other sizes: compute the count from maxlen and units'],
    },
    {
        # A linear hidden layer: same shapes and parameters, only the hidden activation check sees it.
        "name": "ffn-ids-linear-hidden-layer",
        "cell": "build_ffn_ids",
        "source": '''def build_ffn_ids(maxlen, units=250):
    return keras.Sequential([
        keras.Input(shape=(maxlen,)),
        keras.layers.Dense(units),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
''',
        "fails": ["test_ffn_ids_hidden"],
        "says": ['hidden: the hidden Dense layer needs a relu'],
    },
    {
        # Ignores the units argument: right at 250, wrong at the hidden test's sizes.
        "name": "ffn-embedding-ignores-units",
        "cell": "build_ffn_embedding",
        "source": '''def build_ffn_embedding(vocab_size, maxlen, embedding_dim, units=250):
    return keras.Sequential([
        keras.Input(shape=(maxlen,)),
        keras.layers.Embedding(vocab_size, embedding_dim),
        keras.layers.Flatten(),
        keras.layers.Dense(250, activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
''',
        "fails": ["test_ffn_embedding_hidden"],
        "says": ['hidden: the parameter count is wrong for other sizes'],
    },
    {
        # SimpleRNN returning every step: a prediction per word, not per review.
        "name": "simple-rnn-return-sequences",
        "cell": "build_simple_rnn",
        "source": '''def build_simple_rnn(vocab_size, maxlen, embedding_dim, units=100):
    return keras.Sequential([
        keras.Input(shape=(maxlen,)),
        keras.layers.Embedding(vocab_size, embedding_dim),
        keras.layers.SimpleRNN(units, return_sequences=True),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
''',
        "fails": ["test_simple_rnn_visible", "test_simple_rnn_hidden"],
        "says": ['the RNN must return its last state only'],
    },
    {
        # No mask: the padding runs through both LSTMs.
        "name": "bilstm-without-mask",
        "cell": "build_bilstm",
        "source": _BILSTM % {"mask": "", "rnn": "keras.layers.Bidirectional(keras.layers.LSTM(units))"},
        "fails": ["test_bilstm_visible", "test_bilstm_hidden"],
        "says": ['the embedding must mask the padding: mask_zero=True'],
    },
    {
        # A bag of words with a hidden layer is no longer logistic regression.
        "name": "bag-of-words-hidden-layer",
        "cell": "build_bag_of_words",
        "source": '''def build_bag_of_words(num_features):
    return keras.Sequential([
        keras.Input(shape=(num_features,)),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
''',
        "fails": ["test_bag_of_words_visible", "test_bag_of_words_hidden"],
        "says": ['logistic regression is a single Dense layer'],
    },
    {
        # Softmax over the single output unit: every review gets probability 1.0, yet the shapes
        # and parameter count are right.
        "name": "simple-rnn-softmax-output",
        "cell": "build_simple_rnn",
        "source": '''def build_simple_rnn(vocab_size, maxlen, embedding_dim, units=100):
    return keras.Sequential([
        keras.Input(shape=(maxlen,)),
        keras.layers.Embedding(vocab_size, embedding_dim),
        keras.layers.SimpleRNN(units),
        keras.layers.Dense(1, activation="softmax"),
    ])
''',
        "fails": ["test_simple_rnn_hidden"],
        "says": ['hidden: the last layer must give a probability, sigmoid on one unit'],
    },
    {
        # No output activation: a logit, while the loss expects a probability.
        "name": "lstm-linear-output",
        "cell": "build_lstm",
        "source": '''def build_lstm(vocab_size, maxlen, embedding_dim, units=100):
    return keras.Sequential([
        keras.Input(shape=(maxlen,)),
        keras.layers.Embedding(vocab_size, embedding_dim),
        keras.layers.LSTM(units),
        keras.layers.Dense(1),
    ])
''',
        "fails": ["test_lstm_hidden"],
        "says": ['hidden: the last layer must give a probability, sigmoid on one unit'],
    },
    {
        # tanh on the output: a number between -1 and 1, not a probability.
        "name": "cnn-lstm-tanh-output",
        "cell": "build_cnn_lstm",
        "source": '''def build_cnn_lstm(vocab_size, maxlen, embedding_dim, filters=64, kernel_size=3, pool_size=4, units=100):
    return keras.Sequential([
        keras.Input(shape=(maxlen,)),
        keras.layers.Embedding(vocab_size, embedding_dim),
        keras.layers.Conv1D(filters, kernel_size, padding="same", activation="relu"),
        keras.layers.MaxPooling1D(pool_size),
        keras.layers.LSTM(units),
        keras.layers.Dense(1, activation="tanh"),
    ])
''',
        "fails": ["test_cnn_lstm_hidden"],
        "says": ['hidden: the last layer must give a probability, sigmoid on one unit'],
    },
    {
        # relu on the output: non-negative, unbounded, not a probability.
        "name": "bilstm-relu-output",
        "cell": "build_bilstm",
        "source": _BILSTM.replace('Dense(1, activation="sigmoid")', 'Dense(1, activation="relu")') % {
            "mask": ", mask_zero=True", "rnn": "keras.layers.Bidirectional(keras.layers.LSTM(units))"},
        "fails": ["test_bilstm_hidden"],
        "says": ['hidden: the last layer must give a probability, sigmoid on one unit'],
    },
]
