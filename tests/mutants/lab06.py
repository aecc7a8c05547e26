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
    },
    {
        # Pads, but the target is the input itself: the network learns to copy, not to predict.
        "name": "pairs-target-not-shifted",
        "cell": "make_shifted_pairs",
        "source": _PAIRS % '''    maxlen = max(len(t) for t in texts)
    padded = [t.ljust(maxlen) for t in texts]
    return [t[:-1] for t in padded], [t[:-1] for t in padded]''',
        "fails": ["test_shifted_pairs_visible", "test_shifted_pairs_hidden", "test_warmup_good"],
    },
    # ---- (b) make_windows -----------------------------------------------------------------------
    {
        # Off by one in the target: y is X again (the named mutant).
        "name": "windows-target-off-by-one",
        "cell": "make_windows",
        "source": _WINDOWS % ("    starts = range(0, len(ids) - window, step)", "0", "0"),
        "fails": ["test_windows_visible", "test_windows_hidden"],
    },
    {
        # Off by one the other way: the target is two characters ahead (and the last window is cut
        # so that it still fits).
        "name": "windows-target-two-ahead",
        "cell": "make_windows",
        "source": _WINDOWS % ("    starts = range(0, len(ids) - window - 1, step)", "2", "2"),
        "fails": ["test_windows_visible", "test_windows_hidden"],
    },
    {
        # A window count that happens to be right for the visible example only.
        "name": "windows-count-guessed",
        "cell": "make_windows",
        "source": _WINDOWS % ("    starts = [i * step for i in range(len(ids) // step - 1)]", "1", "1"),
        "fails": ["test_windows_hidden"],
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
    },
    {
        # The textbook formula without subtracting the maximum: exp overflows for large logits / T.
        "name": "sampler-no-max-subtraction",
        "cell": "sample_with_temperature",
        "source": _SAMPLER % '''    p = np.exp(np.asarray(logits, dtype="float64") / temperature)
    p /= p.sum()
    return int(rng.choice(len(p), p=p))''',
        "fails": ["test_sampler_stable"],
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
    },
]
