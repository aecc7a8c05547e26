"""Plausible wrong answers for Lab 02 and the tests that must catch them."""

MUTANTS = [
    {
        # Reads W as (embedding_dim, vocab_size): one-hot of depth W.shape[1], times W transposed.
        "name": "embed-transposed-weights",
        "cell": "embed_by_matmul",
        "source": '''def embed_by_matmul(ids, W):
    W = np.asarray(W)
    return one_hot(ids, W.shape[1]) @ W.T
''',
        "fails": ["test_embed_visible", "test_embed_hidden"],
        "says": ['3 ids, 2 dimensions: expected shape (3, 2)'],
    },
    {
        # Right for a single sequence of ids, but flattens a batch of sequences into one list of
        # vectors. The visible test's batch of one sequence still compares equal (broadcasting), so
        # only the hidden tests (2-D and 3-D ids, shapes checked) can tell.
        "name": "embed-flattens-batches",
        "cell": "embed_by_matmul",
        "source": '''def embed_by_matmul(ids, W):
    W = np.asarray(W)
    return one_hot(np.ravel(ids), W.shape[0]) @ W
''',
        "fails": ["test_embed_hidden"],
        "says": ['hidden: must give vectors of shape'],
    },
    {
        # Gives the embedding a bias vector, as if it were a Dense layer.
        "name": "embedding-with-bias",
        "cell": "count_params",
        "source": '''def embedding_params(vocab_size, embedding_dim):
    return vocab_size * embedding_dim + embedding_dim


def dense_on_flatten_params(maxlen, embedding_dim, units):
    return maxlen * embedding_dim * units + units
''',
        "fails": ["test_params_visible", "test_params_hidden"],
        "says": ['10,000 words x 16 dimensions, no bias'],
    },
    {
        "name": "dense-without-bias",
        "cell": "count_params",
        "source": '''def embedding_params(vocab_size, embedding_dim):
    return vocab_size * embedding_dim


def dense_on_flatten_params(maxlen, embedding_dim, units):
    return maxlen * embedding_dim * units
''',
        "fails": ["test_params_visible", "test_params_hidden"],
        "says": ['200 x 16 inputs x 1 unit + 1 bias'],
    },
    {
        # Euclidean distance on the raw (unnormalised) vectors: long vectors look far away.
        "name": "neighbours-euclidean",
        "cell": "nearest_neighbours",
        "source": '''def nearest_neighbours(word, vocab, W, k=5):
    vocab = list(vocab)
    W = np.asarray(W, dtype="float64")
    i = vocab.index(word)
    distance = np.linalg.norm(W - W[i], axis=1)
    distance[i] = np.inf
    return [vocab[j] for j in np.argsort(distance, kind="stable")[:k]]
''',
        "fails": ["test_neighbours_visible", "test_neighbours_hidden"],
        "says": ["by cosine similarity 'great' (same direction, longer) comes first"],
    },
    {
        # The word itself (similarity 1) counted as its own nearest neighbour.
        "name": "neighbours-include-the-word",
        "cell": "nearest_neighbours",
        "source": '''def nearest_neighbours(word, vocab, W, k=5):
    vocab = list(vocab)
    W = np.asarray(W, dtype="float64")
    unit = W / np.linalg.norm(W, axis=1, keepdims=True)
    similarity = unit @ unit[vocab.index(word)]
    return [vocab[j] for j in np.argsort(-similarity, kind="stable")[:k]]
''',
        "fails": ["test_neighbours_visible", "test_neighbours_hidden"],
        "says": ['a word is not its own neighbour'],
    },
    {
        # Dot product without normalising: long vectors win whatever their direction. The visible
        # example happens to rank the same way, so only the hidden tests can tell.
        "name": "neighbours-dot-product",
        "cell": "nearest_neighbours",
        "source": '''def nearest_neighbours(word, vocab, W, k=5):
    vocab = list(vocab)
    W = np.asarray(W, dtype="float64")
    i = vocab.index(word)
    similarity = W @ W[i]
    similarity[i] = -np.inf
    return [vocab[j] for j in np.argsort(-similarity, kind="stable")[:k]]
''',
        "fails": ["test_neighbours_hidden"],
        "says": ['hidden: a has nearly the same direction as x'],
    },
]
