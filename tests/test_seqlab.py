"""Unit tests of the seqlab helper package."""
import json
import os
import subprocess
import sys
import time

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

import seqlab  # noqa: E402
from seqlab import bench, data, plots, scale  # noqa: E402
from seqlab.grading import course as course_dir, results  # noqa: E402


# --- scale ---------------------------------------------------------------------------------

def test_scale_defaults_to_lesson(monkeypatch):
    monkeypatch.delenv("SEQLAB_SCALE", raising=False)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert scale.current() == "lesson" and not scale.is_smoke()
    assert scale.pick(lesson=10, smoke=1) == 10


def test_scale_smoke_and_nbgrader(monkeypatch):
    monkeypatch.setenv("SEQLAB_SCALE", "Smoke ")
    assert scale.current() == "smoke" and scale.pick(lesson=10, smoke=1) == 1
    monkeypatch.setenv("SEQLAB_SCALE", "lesson")
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert scale.current() == "smoke", "grading always runs at smoke scale"


def test_scale_rejects_unknown_value(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.setenv("SEQLAB_SCALE", "huge")
    with pytest.raises(ValueError, match="lesson, smoke"):
        scale.current()


# --- record --------------------------------------------------------------------------------

def test_record_merges_into_the_metrics_file(tmp_path, monkeypatch):
    path = tmp_path / "m.json"
    monkeypatch.setenv("SEQLAB_METRICS", str(path))
    assert seqlab.record("acc", np.float32(0.5)) == np.float32(0.5)
    seqlab.record("curve", np.arange(3))
    seqlab.record("nested", {"a": np.int64(2)})
    assert json.loads(path.read_text()) == {"acc": 0.5, "curve": [0, 1, 2], "nested": {"a": 2}}


def test_record_without_metrics_file_is_a_no_op(monkeypatch, tmp_path):
    monkeypatch.delenv("SEQLAB_METRICS", raising=False)
    monkeypatch.chdir(tmp_path)
    assert seqlab.record("x", 1) == 1
    assert list(tmp_path.iterdir()) == []


# --- seeding -------------------------------------------------------------------------------

def test_seed_everything_makes_keras_and_numpy_repeatable():
    import keras

    def draw():
        seqlab.seed_everything(3)
        layer = keras.layers.Dense(4)
        layer.build((None, 5))
        return np.random.rand(3), keras.ops.convert_to_numpy(layer.kernel)

    (a1, k1), (a2, k2) = draw(), draw()
    assert np.array_equal(a1, a2) and np.array_equal(k1, k2)


def test_free_memory_keeps_the_models_a_notebook_still_holds():
    import keras

    seqlab.seed_everything(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((4, 3)), np.zeros((4, 2)), epochs=1, verbose=0)
    x = np.arange(6, dtype="float32").reshape(2, 3)
    before = model.predict(x, verbose=0)
    seqlab.free_memory()
    assert np.array_equal(model.predict(x, verbose=0), before)  # weights and predictions survive
    model.fit(np.ones((4, 3)), np.zeros((4, 2)), epochs=1, verbose=0)  # and it can still train


# --- data ----------------------------------------------------------------------------------

def test_missing_dataset_offline_fails_fast_with_a_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(data, "_online", lambda host, timeout=3.0: False)
    start = time.perf_counter()
    with pytest.raises(data.DatasetUnavailableError) as err:
        data.load_imdb("train")
    assert time.perf_counter() - start < 30
    message = str(err.value)
    assert "tfds build imdb_reviews" in message and "TFDS_DATA_DIR" in message


def test_split_slicing_by_scale(monkeypatch):
    monkeypatch.setenv("SEQLAB_SCALE", "smoke")
    assert data._split("train", None, 1000) == "train[:1000]"
    assert data._split("train", 50, 1000) == "train[:50]"
    assert data._split("train", 5000, 1000) == "train[:1000]"
    monkeypatch.setenv("SEQLAB_SCALE", "lesson")
    assert data._split("test", None, 1000) == "test"
    assert data._split("test", 5000, 1000) == "test[:5000]"


needs_data = pytest.mark.skipif(not os.environ.get("TFDS_DATA_DIR"), reason="no prepared datasets")


@needs_data
def test_load_imdb_at_smoke_scale(monkeypatch):
    monkeypatch.setenv("SEQLAB_SCALE", "smoke")
    texts, labels = data.load_imdb("train", n=200)
    assert texts.shape == labels.shape == (200,)
    assert isinstance(texts[0], str) and set(np.unique(labels)) <= {0, 1}
    assert texts[0].startswith("This was an absolutely terrible movie.")


@needs_data
def test_load_imdb_reads_the_reviews_of_one_tensor_in_its_order(monkeypatch):
    # Reading batch by batch must change no review and no order: Labs 03, 07 and 08 rely on both.
    import tensorflow_datasets as tfds

    monkeypatch.setenv("SEQLAB_SCALE", "lesson")
    monkeypatch.setattr(data, "READ_BATCH", 128)  # several batches, the last one part-filled
    texts, labels = data.load_imdb("test", n=300)
    whole = tfds.load("imdb_reviews", split="test[:300]", as_supervised=True, batch_size=-1,
                      data_dir=data.data_dir())
    want_texts, want_labels = tfds.as_numpy(whole)
    assert texts.dtype == object and texts.shape == labels.shape == (300,)
    assert [t.encode("utf-8") for t in texts] == list(want_texts)
    assert labels.dtype == np.int32 and np.array_equal(labels, want_labels)


@needs_data
def test_load_text_at_smoke_scale(monkeypatch):
    monkeypatch.setenv("SEQLAB_SCALE", "smoke")
    text = data.load_text("tiny_shakespeare", "train")
    assert len(text) == data.SMOKE_TEXT and text.startswith("First Citizen:")


# --- plots ---------------------------------------------------------------------------------

def test_history_plots_one_panel_per_metric():
    h = {"loss": [1.0, 0.5], "accuracy": [0.5, 0.8], "val_loss": [1.1, 0.7], "val_accuracy": [0.4, 0.7]}
    fig = plots.history(h, title="t")
    assert len(fig.axes) == 2
    assert [len(ax.lines) for ax in fig.axes] == [2, 2]


def test_compare_plots_each_run_that_has_the_metric():
    fig = plots.compare({"a": {"val_accuracy": [0.5, 0.6]}, "b": {"val_accuracy": [0.7]}, "c": {}})
    assert len(fig.axes[0].lines) == 2


# --- grading and bench helpers ---------------------------------------------------------------

def test_strip_solution_markers():
    src = "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n"
    assert course_dir.strip_solution_markers(src) == "def f():\n    return 1"


def test_format_table_and_csv(tmp_path):
    rows = [{"student": "s", "lab": "01", "score": 1.0, "max_score": 2.0, "auto_score": 1.0,
             "auto_max": 2.0, "needs_manual": 0, "status": "graded"}]
    table = results.format_table(rows)
    assert table.splitlines()[0].split() == ["student", "lab", "score", "max_score", "needs_manual", "status"]
    results.write_csv(tmp_path / "g.csv", rows)
    assert (tmp_path / "g.csv").read_text().splitlines()[1] == "s,01,1.0,2.0,1.0,2.0,0,graded"


def test_bench_runs_a_notebook_and_collects_its_metrics(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import seqlab\nx = bytearray(50_000_000)\nseqlab.record('answer', 42)")]
    nbformat.write(nb, tmp_path / "t.ipynb")
    out = subprocess.run([sys.executable, "-m", "seqlab.bench", "--one", str(tmp_path / "t.ipynb"),
                          "--executed", str(tmp_path / "out" / "t.ipynb")],
                         capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["metrics"] == {"answer": 42} and result["error"] is None
    assert result["peak_rss_mb"] > 50 and result["wall_s"] > 0
    md = bench.markdown({"t": dict(result, scale="smoke", when="now", machine="m")})
    assert "| t | smoke |" in md and "| answer | 42 |" in md


def test_bench_runs_a_labs_baseline_right_after_it(tmp_path):
    for lab in ["01-a", "02-b"]:
        (tmp_path / "source" / lab).mkdir(parents=True)
        (tmp_path / "source" / lab / f"{lab}.ipynb").write_text("{}")
    (tmp_path / "bench" / "baselines").mkdir(parents=True)
    (tmp_path / "bench" / "baselines" / "01-a.ipynb").write_text("{}")
    names = [name for name, _ in bench.notebooks(tmp_path, ["01-a", "02-b"])]
    assert names == ["01-a", "01-a.baseline", "02-b"]
    assert bench.notebooks(tmp_path, ["01-a"])[1][1] == tmp_path / "bench" / "baselines" / "01-a.ipynb"
