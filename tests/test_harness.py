"""The test harness itself: how it decides which wrong answers can share a graded notebook."""
import harness


def test_dependency_analysis_follows_scopes():
    """A function's parameters, locals and comprehension variables are not names its cell reads or defines."""
    stored, free = harness._names(
        "def f(grammar, rng, *args, k=default_k, **kw):\n"
        "    total = [x * rng for x in grammar if x > limit]\n"
        "    lam = lambda z: z + offset\n"
        "    results[k] = total\n"
        "    return helper(total, lam)\n"
        "squares = [i * i for i in range(n)]\n")
    assert stored == {"f", "squares", "results"}, stored
    assert free == {"default_k", "limit", "offset", "helper", "range", "n"}, free
