"""Plausible wrong answers for Lab 04 and the tests that must catch them."""

MUTANTS = [
    {
        # Samples with NumPy's global generator instead of the rng it is given: strings are still
        # grammatical, but the same seed no longer gives the same strings.
        "name": "generate-ignores-rng",
        "cell": "generate_valid_string",
        "source": '''def generate_valid_string(grammar, rng):
    state, pieces = 0, []
    while state is not None:
        transitions = grammar[state]
        production, state = transitions[np.random.randint(len(transitions))]
        if isinstance(production, list):
            production = generate_valid_string(production, rng)
        pieces.append(production)
    return "".join(pieces)
''',
        "fails": ["test_generate_visible", "test_generate_hidden"],
        "says": ['use rng only: the same seed must give the same string'],
    },
    {
        # The wrong answer: only the first and last symbols are checked.
        "name": "is-valid-first-and-last-only",
        "cell": "is_valid",
        "source": '''def is_valid(string, grammar):
    firsts = {symbol for symbol, _ in grammar[0] if isinstance(symbol, str)}
    return len(string) >= 2 and string[0] in firsts and string[-1] == "E"
''',
        "fails": ["test_is_valid_visible", "test_is_valid_hidden"],
        "says": ['after ...TVP the walk is in state 4, which cannot end with E'],
    },
    {
        # Greedy walk that follows the first transition whose symbol matches and never backtracks
        # into nested grammars: it cannot recognise embedded strings at all.
        "name": "is-valid-flat-grammars-only",
        "cell": "is_valid",
        "source": '''def is_valid(string, grammar):
    state = 0
    for ch in string:
        if state is None:
            return False
        nxt = [n for symbol, n in grammar[state] if symbol == ch]
        if not nxt:
            return False
        state = nxt[0]
    return state is None
''',
        "fails": ["test_is_valid_visible", "test_is_valid_hidden"],
        "says": ['valid embedded strings were rejected: a nested grammar must match a whole walk of itself'],
    },
    {
        # The wrong answer: gradients with respect to the weights, not the inputs.
        "name": "gradients-wrt-weights",
        "cell": "gradient_norms_through_time",
        "source": '''def gradient_norms_through_time(model, X, y):
    X = tf.convert_to_tensor(X, dtype="float32")
    y = tf.reshape(tf.convert_to_tensor(y, dtype="float32"), (-1, 1))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(keras.losses.binary_crossentropy(y, model(X)))
    grads = tape.gradient(loss, model.trainable_weights)
    return np.array([float(tf.norm(g)) for g in grads])
''',
        "fails": ["test_gradnorms_visible", "test_gradnorms_hidden"],
        "says": ['one norm per example and time step: expected (5, 4)'],
    },
    {
        # The mean loss over the batch instead of the sum: every norm is batch-size times too small.
        "name": "gradients-of-mean-loss",
        "cell": "gradient_norms_through_time",
        "source": '''def gradient_norms_through_time(model, X, y):
    X = tf.convert_to_tensor(X, dtype="float32")
    y = tf.reshape(tf.convert_to_tensor(y, dtype="float32"), (-1, 1))
    with tf.GradientTape() as tape:
        tape.watch(X)
        loss = tf.reduce_mean(keras.losses.binary_crossentropy(y, model(X)))
    return tf.norm(tape.gradient(loss, X), axis=-1).numpy()
''',
        "fails": ["test_gradnorms_visible", "test_gradnorms_hidden"],
        "says": ['not the input gradient of the summed loss'],
    },
    {
        # The issue's wrong answer: the textbook gate order (f, i, c, o) instead of Keras' (i, f, c, o).
        "name": "lstm-gate-order-swapped",
        "cell": "lstm_step",
        "source": '''def lstm_step(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):
    def sigmoid(z):
        return 1.0 / (1.0 + np.exp(-z))
    z = x_t @ kernel + h_prev @ recurrent_kernel + bias
    z_f, z_i, z_c, z_o = np.split(z, 4, axis=-1)
    i, f, o = sigmoid(z_i), sigmoid(z_f), sigmoid(z_o)
    c_t = f * c_prev + i * np.tanh(z_c)
    return o * np.tanh(c_t), c_t
''',
        "fails": ["test_lstm_step_visible", "test_lstm_step_hidden"],
        "says": ['h differs from Keras at step 0: check the gate order (i, f, c, o)'],
    },
    {
        # h_t = o * c_t: forgets the tanh on the cell state. Small cell states hide it on short runs.
        "name": "lstm-no-tanh-on-cell",
        "cell": "lstm_step",
        "source": '''def lstm_step(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias):
    def sigmoid(z):
        return 1.0 / (1.0 + np.exp(-z))
    z = x_t @ kernel + h_prev @ recurrent_kernel + bias
    z_i, z_f, z_c, z_o = np.split(z, 4, axis=-1)
    i, f, o = sigmoid(z_i), sigmoid(z_f), sigmoid(z_o)
    c_t = f * c_prev + i * np.tanh(z_c)
    return o * c_t, c_t
''',
        "fails": ["test_lstm_step_visible", "test_lstm_step_hidden"],
        "says": ['h differs from Keras at step 0: check the gate order (i, f, c, o) and h_t = o * tanh(c_t)'],
    },
    {
        # Expands every nested grammar as the Reber grammar (the only one the visible tests nest):
        # embedded Reber strings are right, any other sub-grammar is ignored.
        "name": "generate-nested-always-default",
        "cell": "generate_valid_string",
        "source": '''def generate_valid_string(grammar, rng):
    state, pieces = 0, []
    while state is not None:
        transitions = grammar[state]
        production, state = transitions[rng.integers(len(transitions))]
        if isinstance(production, list):
            production = generate_valid_string(default_reber_grammar, rng)
        pieces.append(production)
    return "".join(pieces)
''',
        "fails": ["test_generate_hidden"],
        "says": ["hidden: a nested grammar must be expanded with the sub-grammar it names"],
    },
    {
        # A walk that follows the first transition that fits and never backtracks: right on the Reber
        # grammars (no two transitions of a state share a symbol), wrong where two transitions compete.
        "name": "is-valid-greedy-no-backtracking",
        "cell": "is_valid",
        "source": '''def is_valid(string, grammar):
    def walk(g, pos):
        state = 0
        while state is not None:
            for production, next_state in g[state]:
                if isinstance(production, list):
                    end = walk(production, pos)
                    if end is not None:
                        pos, state = end, next_state
                        break
                elif string.startswith(production, pos):
                    pos, state = pos + len(production), next_state
                    break
            else:
                return None
        return pos
    return walk(grammar, 0) == len(string)
''',
        "fails": ["test_is_valid_hidden"],
        "says": ["hidden: when two transitions fit the same symbol, try both"],
    },
]
