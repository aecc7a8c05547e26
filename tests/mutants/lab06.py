"""Plausible wrong answers for Lab 06 and the tests that must catch them."""

_PAIRS = '''def make_shifted_pairs(texts):
%s
'''

_WINDOWS = '''def make_windows(ids, window, step):
    ids = np.asarray(ids)
%s
    X = np.array([ids[s:s + window] for s in starts]).reshape(-1, window)
    y = np.array([ids[s + %s:s + window + %s] for s in starts]).reshape(-1, window)
    return X, y
'''

_SAMPLER = '''def sample_with_temperature(logits, temperature, rng):
%s
'''

MUTANTS = [
    # ---- (a) make_shifted_pairs -----------------------------------------------------------------
    {
        # Shifts each text but never pads: rows of different lengths, so the warm-up cannot train.
        "name": "pairs-without-padding",
        "cell": "make_shifted_pairs",
        "source": _PAIRS % '''    return [t[:-1] for t in texts], [t[1:] for t in texts]''',
        "fails": ["test_shifted_pairs_visible", "test_shifted_pairs_hidden", "test_warmup_good"],
        "says": ['pad to 15 characters (the longest text), then drop one'],
    },
    {
        # Pads, but the target is the input itself: the network learns to copy, not to predict.
        "name": "pairs-target-not-shifted",
        "cell": "make_shifted_pairs",
        "source": _PAIRS % '''    maxlen = max(len(t) for t in texts)
    padded = [t.ljust(maxlen) for t in texts]
    return [t[:-1] for t in padded], [t[:-1] for t in padded]''',
        "fails": ["test_shifted_pairs_visible", "test_shifted_pairs_hidden", "test_warmup_good"],
        "says": ['target = the padded text without its first character'],
    },
    # ---- (b) make_windows -----------------------------------------------------------------------
    {
        # Off by one in the target: y is X again (the named mutant).
        "name": "windows-target-off-by-one",
        "cell": "make_windows",
        "source": _WINDOWS % ("    starts = range(0, len(ids) - window, step)", "0", "0"),
        "fails": ["test_windows_visible", "test_windows_hidden"],
        "says": ['y is X shifted by one'],
    },
    {
        # Off by one the other way: the target is two characters ahead (and the last window is cut
        # so that it still fits).
        "name": "windows-target-two-ahead",
        "cell": "make_windows",
        "source": _WINDOWS % ("    starts = range(0, len(ids) - window - 1, step)", "2", "2"),
        "fails": ["test_windows_visible", "test_windows_hidden"],
        "says": ['windows start at 0, 2, 4, 6'],
    },
    {
        # A window count that happens to be right for the visible example only.
        "name": "windows-count-guessed",
        "cell": "make_windows",
        "source": _WINDOWS % ("    starts = [i * step for i in range(len(ids) // step - 1)]", "1", "1"),
        "fails": ["test_windows_hidden"],
        "says": ['hidden: the number of windows is wrong'],
    },
    # ---- (c) sample_with_temperature ------------------------------------------------------------
    {
        # Divides the probabilities, not the log-probabilities, by T: renormalising undoes it, so
        # the temperature has no effect (the named mutant).
        "name": "sampler-divides-probabilities",
        "cell": "sample_with_temperature",
        "source": _SAMPLER % '''    z = np.asarray(logits, dtype="float64")
    p = np.exp(z - z.max())
    p /= p.sum()
    p = p / temperature
    p /= p.sum()
    return int(rng.choice(len(p), p=p))''',
        "fails": ["test_sampler_visible", "test_sampler_distribution"],
        "says": ['at T = 0.01 the argmax (index 1) should (almost) always win'],
    },
    {
        # The textbook formula without subtracting the maximum: exp overflows for large logits / T.
        "name": "sampler-no-max-subtraction",
        "cell": "sample_with_temperature",
        "source": _SAMPLER % '''    p = np.exp(np.asarray(logits, dtype="float64") / temperature)
    p /= p.sum()
    return int(rng.choice(len(p), p=p))''',
        "fails": ["test_sampler_stable"],
        "says": ['hidden: overflow encountered in exp'],
    },
    {
        # The classic Keras example on probabilities: log(p) / T with no floor, so log(0) once a
        # probability underflows to 0.
        "name": "sampler-log-of-zero",
        "cell": "sample_with_temperature",
        "source": _SAMPLER % '''    z = np.asarray(logits, dtype="float64")
    p = np.exp(z - z.max())
    p /= p.sum()
    p = np.exp(np.log(p) / temperature)
    p /= p.sum()
    return int(rng.choice(len(p), p=p))''',
        "fails": ["test_sampler_stable"],
        "says": ['hidden: divide by zero encountered in log'],
    },
    {
        # Right distribution, but drawn with NumPy's global generator: the same seed does not give
        # the same text.
        "name": "sampler-ignores-rng",
        "cell": "sample_with_temperature",
        "source": _SAMPLER % '''    z = np.asarray(logits, dtype="float64") / temperature
    p = np.exp(z - z.max())
    p /= p.sum()
    return int(np.random.choice(len(p), p=p))''',
        "fails": ["test_sampler_stable"],
        "says": ['hidden: the same seed must give the same character'],
    },
    {
        # Right on every text long enough, but np.array of no windows is float and 1-D: a text
        # shorter than one window gives X of shape (0,) and dtype float64.
        "name": "windows-empty-not-2d",
        "cell": "make_windows",
        "source": '''def make_windows(ids, window, step):
    ids = np.asarray(ids)
    starts = range(0, len(ids) - window, step)
    X = np.array([ids[s:s + window] for s in starts])
    y = np.array([ids[s + 1:s + window + 1] for s in starts])
    return X, y
''',
        "fails": ["test_windows_hidden"],
        "says": ["hidden: a text too short for one window (and its target) gives arrays of shape (0, window)"],
    },
]
