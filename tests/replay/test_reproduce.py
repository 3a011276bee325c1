"""The pure comparison behind the reproducibility report: normalisation, tolerance, verdict."""

from __future__ import annotations

import pytest

from nbtrack.core.reproduce import (
    DIFFERENT,
    DIFFERS,
    FAILED,
    IDENTICAL,
    REPRODUCED,
    REPRODUCED_WITHIN,
    WITHIN,
    CellComparison,
    Report,
    comparable_outputs,
    compare_metrics,
    compare_outputs,
    compare_packages,
    compare_text,
    normalise,
)


def stream(text: str, name: str = "stdout") -> dict:
    return {"output_type": "stream", "name": name, "text": text}


def result(plain: str, **more: str) -> dict:
    return {
        "output_type": "execute_result",
        "execution_count": 1,
        "metadata": {},
        "data": {"text/plain": plain, **more},
    }


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("CPU times: user 1.2 s, sys: 3 ms\nWall time: 1.4 s", "CPU times: user 2.5 s, sys: 10 ms\nWall time: 3.1 s"),
        ("<Model object at 0x7f3a2b1c9d80>", "<Model object at 0x7f99aa001122>"),
        ("saved at 2026-11-23T17:51:47.123Z", "saved at 2027-01-02 03:04:05"),
        ("Mon Nov 23 17:51:47 2026", "Tue Dec  1 08:00:00 2026"),
        ("run 01kaqz3m8r4xyzab started", "run 01kaqz9q2s7mnpqr started"),
        (
            "100%|██████████| 10/10 [00:01<00:00,  9.81it/s]",
            "100%|██████████| 10/10 [00:02<00:00,  4.90it/s]",
        ),
        ("epoch done in 12.5s", "epoch done in 9.1s"),
        ("id 123e4567-e89b-12d3-a456-426614174000", "id 00000000-1111-2222-3333-444444444444"),
        ("Date:                Sun, 29 Nov 2026   Prob", "Date:                Mon, 07 Dec 2026   Prob"),
        ("as of 2026-11-29 (Nov 29, 2026)", "as of 2027-01-03 (Jan 3, 2027)"),
        ("1.2 ms ± 45.6 µs per loop (mean ± std. dev. of 7 runs, 1,000 loops each)",
         "980 µs ± 5 µs per loop (mean ± std. dev. of 7 runs, 100 loops each)"),
        ("/tmp/ipykernel_4123/2519.py:3: UserWarning: careful", "/tmp/ipykernel_977/2519.py:3: UserWarning: careful"),
    ],
)
def test_what_changes_between_executions_is_not_a_difference(a: str, b: str) -> None:
    assert normalise(a) == normalise(b)
    assert compare_outputs([stream(a)], [stream(b)], 1e-6)[0] == IDENTICAL


def test_normalising_keeps_real_content() -> None:
    assert normalise("accuracy 0.9733 on 450 samples") == "accuracy 0.9733 on 450 samples"
    assert normalise("the word abcdefghjkmnpqrs is no run id") == "the word abcdefghjkmnpqrs is no run id"
    assert normalise("min_samples 10 s_value") == "min_samples 10 s_value"


def test_numbers_within_relative_tolerance() -> None:
    assert compare_text("loss 0.9733333333333334", "loss 0.9733333333333333", 1e-6) == WITHIN
    assert compare_text("loss 0.97", "loss 0.98", 1e-6) == DIFFERENT
    assert compare_text("loss 0.97", "loss 0.98", 0.05) == WITHIN
    assert compare_text("[1.0, 2.0]", "[1.0, 2.0, 3.0]", 1.0) == DIFFERENT
    assert compare_text("acc 0.5", "loss 0.5", 1.0) == DIFFERENT
    assert compare_text("x nan", "x NaN", 1e-6) == WITHIN
    assert compare_text("0.0 and 1e-15", "1e-16 and 0.0", 1e-6) == WITHIN


def widget_view(model_id: str, own: bool = False) -> dict:
    """A widget's display as papermill writes it: the full bundle (its plain-text repr, a
    fallback image, the view with a model id that is new in every kernel)."""
    view = {"version_major": 2, "version_minor": 0, "model_id": model_id}
    metadata = {"nbtrack": {"own": "live"}} if own else {}
    return {"output_type": "display_data", "metadata": metadata,
            "data": {"text/plain": "Canvas(toolbar=Toolbar())", "image/png": "iVBORw0KGgo=",
                     "application/vnd.jupyter.widget-view+json": view}}


def test_widgets_compare_as_the_store_keeps_them_on_both_sides() -> None:
    from nbtrack.core.snapshot import strip_widgets

    # the original as the store keeps it: streams merged between displays, widget views and
    # nbtrack's own chart stripped (the widget's text and fallback image stay)
    cells = [{"cell_type": "code", "source": "show()", "metadata": {}, "execution_count": 1, "outputs": [
        stream("a\nb\n"), widget_view("8f1c0a9e2b3d4c5e6f708192a3b4c5d6"), widget_view("0a0b", own=True),
        stream("step 1\rstep 2\n")]}]
    original = strip_widgets({"cells": cells, "metadata": {}})["cells"][0]["outputs"]
    assert all("application/vnd.jupyter.widget-view+json" not in (o.get("data") or {}) for o in original)
    # the replay as papermill wrote it: streams in pieces, another model id, the own chart
    replayed = [stream("a\n"), stream("b\n"), widget_view("77aa66bb55cc44dd33ee22ff11009988"),
                widget_view("0c0d", own=True), stream("step 1\r"), stream("step 2\n")]
    assert comparable_outputs(original) == comparable_outputs(replayed)
    assert compare_outputs(original, replayed, 1e-6) == (IDENTICAL, [])
    assert compare_outputs(original, [stream("a\nb\n"), stream("step 2\n")], 1e-6)[0] == DIFFERENT  # widget gone


def png(size: tuple[int, int], dots: int = 0) -> str:
    import base64
    import io

    from PIL import Image

    image = Image.new("RGB", size, "white")
    for i in range(dots):
        image.putpixel((i % size[0], i // size[0]), (0, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1 + dots % 2)  # other bytes for the same pixels
    return base64.b64encode(buffer.getvalue()).decode()


def figure(data: str) -> dict:
    return {"output_type": "display_data", "metadata": {},
            "data": {"image/png": data, "text/plain": "<Figure size 640x480 with 1 Axes>"}}


def test_images_with_other_bytes_compare_by_pixels_within_a_tolerance() -> None:
    blank, one_dot, many = png((100, 100)), png((100, 100), 1), png((100, 100), 2000)
    assert compare_outputs([figure(blank)], [figure(blank)], 1e-6)[0] == IDENTICAL
    assert compare_outputs([figure(blank)], [figure(one_dot)], 1e-6)[0] == WITHIN  # 0.01% of the pixels
    assert compare_outputs([figure(blank)], [figure(many)], 1e-6)[0] == DIFFERENT  # 20%
    assert compare_outputs([figure(blank)], [figure(png((100, 90)))], 1e-6)[0] == DIFFERENT
    assert compare_outputs([figure(blank)], [figure("bm90IGFuIGltYWdl")], 1e-6)[0] == DIFFERENT


def test_rich_outputs_compare_their_real_representation() -> None:
    html_a = result("<IPython.core.display.HTML object>", **{"text/html": "<b>0.5</b>"})
    html_b = result("<IPython.core.display.HTML object>", **{"text/html": "<b>0.6</b>"})
    status, differences = compare_outputs([html_a], [html_b], 1e-6)
    assert status == DIFFERENT
    assert "-<b>0.5</b>" in differences[0] and "+<b>0.6</b>" in differences[0]
    png_a = {
        "output_type": "display_data",
        "metadata": {},
        "data": {"image/png": "AAAA", "text/plain": "<Figure size 640x480 with 1 Axes>"},
    }
    png_b = {
        "output_type": "display_data",
        "metadata": {},
        "data": {"image/png": "BBBB", "text/plain": "<Figure size 640x480 with 1 Axes>"},
    }
    assert compare_outputs([png_a], [png_a], 1e-6)[0] == IDENTICAL
    assert compare_outputs([png_a], [png_b], 1e-6)[0] == DIFFERENT  # same description, other pixels
    error_a = {"output_type": "error", "ename": "ValueError", "evalue": "bad 1", "traceback": ["long", "trace"]}
    error_b = {"output_type": "error", "ename": "ValueError", "evalue": "bad 1", "traceback": ["other"]}
    assert compare_outputs([error_a], [error_b], 1e-6)[0] == IDENTICAL


def test_svg_drawings_that_differ_only_in_their_ids_are_identical() -> None:
    # matplotlib salts its SVG ids with a value drawn afresh in each process
    def svg(salt: str, y: str = "10") -> dict:
        return result("<IPython.core.display.SVG object>", **{"image/svg+xml": (
            f'<svg><defs><clipPath id="p{salt}"><rect y="{y}"/></clipPath>'
            f'<path id="m{salt}a" d="M 0 0"/></defs>'
            f'<g clip-path="url(#p{salt})"><use xlink:href="#m{salt}a" x="1"/><use href="#m{salt}a" x="2"/></g>'
            '<metadata><dc:date>2026-11-29T10:00:01.5</dc:date></metadata></svg>')})

    assert compare_outputs([svg("1f2e3d")], [svg("9a8b7c")], 1e-6)[0] == IDENTICAL
    assert compare_outputs([svg("1f2e3d")], [svg("9a8b7c", y="11")], 1e-6)[0] == DIFFERENT  # the drawing
    swapped = svg("1f2e3d")
    swapped["data"]["image/svg+xml"] = swapped["data"]["image/svg+xml"].replace("url(#p1f2e3d)", "url(#m1f2e3da)")
    assert compare_outputs([svg("1f2e3d")], [swapped], 1e-6)[0] == DIFFERENT  # a reference to another element


def test_missing_and_extra_outputs_are_differences() -> None:
    status, differences = compare_outputs([stream("x\n")], [], 1e-6)
    assert status == DIFFERENT and differences[0].startswith("missing from the replay")
    status, differences = compare_outputs([], [result("3")], 1e-6)
    assert status == DIFFERENT and differences[0].startswith("only in the replay")


def test_metrics_agree_within_tolerance() -> None:
    rows = {r["key"]: r for r in compare_metrics({"acc": 0.9, "loss": 0.1, "gone": 1.0},
                                                 {"acc": 0.9, "loss": 0.1 + 1e-12, "new": 2.0}, 1e-6)}
    assert rows["acc"]["status"] == IDENTICAL and rows["loss"]["status"] == WITHIN and rows["loss"]["agree"]
    assert rows["gone"]["status"] == DIFFERENT and rows["gone"]["replay"] is None
    assert rows["new"]["status"] == DIFFERENT and not rows["new"]["agree"]


def test_package_differences_use_normalised_names() -> None:
    rows = compare_packages(
        {"Scikit_Learn": "1.5", "numpy": "2.0", "old": "1"}, {"scikit-learn": "1.5", "numpy": "2.1", "new": "3"}
    )
    assert rows == [
        {"package": "new", "original": None, "replay": "3", "kind": "added"},
        {"package": "numpy", "original": "2.0", "replay": "2.1", "kind": "changed"},
        {"package": "old", "original": "1", "replay": None, "kind": "missing"},
    ]


def test_verdicts_and_exit_codes() -> None:
    same = CellComparison(0, "x", IDENTICAL)
    close = CellComparison(1, "y", WITHIN)
    off = CellComparison(2, "z", DIFFERENT)
    metric_close = [{"key": "m", "status": WITHIN}]
    assert Report("a", "b", [same], []).verdict == REPRODUCED
    assert Report("a", "b", [same], metric_close).verdict == REPRODUCED_WITHIN
    assert Report("a", "b", [same, close], []).exit_code == 0
    assert Report("a", "b", [same, off], []).verdict == DIFFERS
    assert Report("a", "b", [same, off], []).exit_code == 1
    failed = Report("a", "b", [same], [], error="DeadKernelError: Kernel died")
    assert failed.verdict == FAILED and failed.exit_code == 3
    data = Report("a", "b", [same, off], metric_close, [{"package": "numpy"}], [{"path": "/d"}], {"lr": 0.1}).to_dict()
    assert data["verdict"] == DIFFERS and set(data) >= {"verdict", "cells", "metrics", "environment", "data"}
    assert Report.from_dict(data).to_dict() == data


def test_the_trackers_own_warnings_are_not_differences() -> None:
    warning = ('/site/nbtrack/core/run.py:246: RuntimeWarning: nbtrack could not record something: OSError()\n'
               '  self._report("deferred", f"nbtrack could not record something: {exc!r}")\n')
    assert (
        compare_outputs([stream("600 rows\n")], [stream(warning, "stderr"), stream("600 rows\n")], 1e-6)[0] == IDENTICAL
    )
    user = "/x.py:3: UserWarning: careful\n  warnings.warn('careful')\n"
    assert compare_outputs([], [stream(warning + user, "stderr")], 1e-6)[0] == DIFFERENT


def test_rendered_report_escapes_user_text_and_names_differing_cells() -> None:
    from nbtrack.replay.report import render

    cells = [
        CellComparison(0, "x = 1", IDENTICAL),
        CellComparison(3, "draw = rnd()\x1b[31m", DIFFERENT, ["-a\n+b"], "c3", 7),
    ]
    metrics = [{"key": "loss", "original": 0.5, "replay": 0.6, "status": DIFFERENT, "agree": False}]
    lines = render(
        Report(
            "orig",
            "new",
            cells,
            metrics,
            [{"package": "numpy", "original": "1", "replay": "2", "kind": "changed"}],
            [{"path": "/d", "status": "different", "replay_path": "/e"}],
            {"lr": 0.1},
        )
    )
    text = "\n".join(lines)
    assert "\x1b" not in text and "\\x1b[31m" in text
    assert "cell 4 [In 7] different: draw = rnd()" in text and "      +b" in text
    assert "x = 1" not in text  # identical cells are only counted
    assert "cells: 1 identical, 1 different" in text and "parameters: lr=0.1" in text
    assert "numpy: 1 -> 2" in text and "data /d: different (replay used /e)" in text
    assert lines[-1] == "verdict: differs"
