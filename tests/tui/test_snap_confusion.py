"""Snapshots: the confusion matrix heat map with its side tables."""

from __future__ import annotations

from kerasketch.tui.app import KerasketchApp

FINISHED = "runs/like_vgg_adamw-20261120-100005"


def app_for(runs_dir) -> KerasketchApp:
    return KerasketchApp(runs_dir=runs_dir, watch_interval=0)


def open_confusion(key: str):
    async def run_before(pilot) -> None:
        pilot.app.open_confusion(key)
        await pilot.pause()

    return run_before


class TestConfusionMatrix:
    def test_20_classes_80x24(self, snap_compare, populated):
        assert snap_compare(app_for(populated), run_before=open_confusion(FINISHED), terminal_size=(80, 24))

    def test_20_classes_140x40(self, snap_compare, populated):
        assert snap_compare(app_for(populated), run_before=open_confusion(FINISHED), terminal_size=(140, 40))

    def test_cursor_cell_is_spelt_out_120x40(self, snap_compare, populated):
        # From (airplane, airplane) one right: airplane predicted as apple.
        assert snap_compare(
            app_for(populated), run_before=open_confusion(FINISHED), press=["right"], terminal_size=(120, 40)
        )

    def test_per_class_sorted_by_class_size_120x40(self, snap_compare, populated):
        assert snap_compare(
            app_for(populated), run_before=open_confusion(FINISHED), press=["s"], terminal_size=(120, 40)
        )

    def test_200_classes_scrolled_to_the_end_120x40(self, snap_compare, runs_dir, helpers):
        names = [f"class {i:03d}" for i in range(200)]
        helpers.write_finished(runs_dir, "like_vgg-20261124-100005", "like_vgg", names=names, day=24)
        press = ["end", "up", "up", "left"]
        assert snap_compare(
            app_for(runs_dir),
            run_before=open_confusion("runs/like_vgg-20261124-100005"),
            press=press,
            terminal_size=(120, 40),
        )

    def test_a_run_without_a_matrix_says_why_80x24(self, snap_compare, populated):
        assert snap_compare(
            app_for(populated), run_before=open_confusion("runs/ts_cnn-20261122-120005"), terminal_size=(80, 24)
        )
