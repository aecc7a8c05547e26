"""Plausible wrong answers for Lab 01 and the tests that must catch them."""

MUTANTS = [
    {
        # Counts the texts a token appears in, not its occurrences. The visible sentences never
        # repeat a word, so only the hidden tests can tell.
        "name": "document-frequency",
        "cell": "build_vocab",
        "source": '''PAD, OOV = "", "[UNK]"


def build_vocab(texts, max_tokens=None):
    counts = Counter(token for text in texts for token in set(tokenize(text)))
    ranked = sorted(counts, key=lambda token: (-counts[token], token))
    if max_tokens is not None:
        ranked = ranked[: max_tokens - 2]
    vocab = {PAD: 0, OOV: 1}
    vocab.update({token: i for i, token in enumerate(ranked, start=2)})
    return vocab
''',
        "fails": ["test_build_vocab_hidden"],
        "says": ['hidden: count every occurrence of a token (term frequency)'],
    },
    {
        "name": "encode-drops-unknown-tokens",
        "cell": "encode",
        "source": '''def encode(text, vocab):
    return [vocab[token] for token in tokenize(text) if token in vocab]
''',
        "fails": ["test_encode_visible", "test_encode_hidden"],
        "says": ['unknown tokens become 1'],
    },
    {
        "name": "pad-ignores-truncating",
        "cell": "pad_or_truncate",
        "source": '''def pad_or_truncate(seqs, maxlen, padding="pre", truncating="pre"):
    X = np.zeros((len(seqs), maxlen), dtype="int32")
    for i, seq in enumerate(seqs):
        seq = list(seq)[-maxlen:]
        if not seq:
            continue
        if padding == "pre":
            X[i, maxlen - len(seq):] = seq
        else:
            X[i, :len(seq)] = seq
    return X
''',
        "fails": ["test_pad_visible", "test_pad_hidden"],
        "says": ["truncating='post' cuts the end"],
    },
    {
        # Builds the rows as lists and converts at the end: right for any non-empty batch, but no
        # sequences at all give np.array([]) of shape (0,), not (0, maxlen).
        "name": "pad-empty-batch-not-2d",
        "cell": "pad_or_truncate",
        "source": '''def pad_or_truncate(seqs, maxlen, padding="pre", truncating="pre"):
    rows = []
    for seq in seqs:
        seq = list(seq)
        if len(seq) > maxlen:
            seq = seq[-maxlen:] if truncating == "pre" else seq[:maxlen]
        pad = [0] * (maxlen - len(seq))
        rows.append(pad + seq if padding == "pre" else seq + pad)
    return np.array(rows, dtype="int32")
''',
        "fails": ["test_pad_hidden"],
        "says": ["hidden: no sequences at all give an int32 array of shape (0, maxlen)"],
    },
]
