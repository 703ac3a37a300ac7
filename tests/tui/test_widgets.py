"""The home-made widgets: the braille chart and the heat map's visible-only rendering."""

from __future__ import annotations

from textual.app import App
from textual.geometry import Size

from kerasketch.tui.widgets.heatmap import ConfusionHeatmap, ramp
from kerasketch.tui.widgets.line_chart import LineChart, Series


def test_the_ramp_runs_from_dark_to_bright():
    assert sum(ramp(0.0)) < sum(ramp(0.5)) < sum(ramp(1.0))


def test_heatmap_of_200_classes_renders_only_the_cells_in_view(helpers):
    names = [f"class {i:03d}" for i in range(200)]
    matrix = [[(i * 7 + j * 3) % 5 if i != j else 40 for j in range(200)] for i in range(200)]

    class One(App):
        def compose(self):
            yield ConfusionHeatmap(names, matrix)

    async def scenario():
        app = One()
        async with app.run_test(size=(120, 40)) as pilot:
            heatmap = app.query_one(ConfusionHeatmap)
            assert heatmap.virtual_size == Size(heatmap.label_w + 200 * heatmap.cell_w, 201)
            # How long a frame takes is bench/dashboard_cost.py's to print (--frames-only), not a test's to bound.
            strips = [heatmap.render_line(y) for y in range(heatmap.size.height)]
            width = heatmap.scrollable_content_region.width
            assert all(s.cell_length == width for s in strips)
            await pilot.press("end")
            assert heatmap.cursor == (199, 199)
            assert heatmap.scroll_offset.y > 150 and heatmap.scroll_offset.x > 0
            last = heatmap.render_line(heatmap.scrollable_content_region.height - 1).text
            assert "199 class 199" in last and "40" in last

    helpers.run_async(scenario())


def test_the_chart_keeps_its_selection_and_zoom_when_epochs_arrive(helpers):
    class One(App):
        def compose(self):
            yield LineChart("accuracy", bounds=(0.0, 1.0))

    async def scenario():
        app = One()
        async with app.run_test(size=(60, 12)) as pilot:
            chart = app.query_one(LineChart)
            values = [0.1, 0.3, 0.5, 0.55]
            chart.set_data([Series("val", "red", values)], best=4)
            chart.selected, chart.window = 2, 3
            chart.set_data([Series("val", "red", values + [0.6, 0.58])], best=5)
            await pilot.pause()
            assert chart.selected == 2 and chart.window == 3
            text = chart.render().plain
            assert "best 5" in text and "(last 3)" in text
            assert any(0x2800 < ord(c) <= 0x28FF for c in text)  # braille dots were drawn

    helpers.run_async(scenario())


def test_form_input_applies_editing_keys_in_the_order_they_arrive(helpers):
    """Keys that arrive in one read (SSH, tmux) must not overtake each other."""
    from textual import events

    from kerasketch.tui.widgets.form_input import FormInput

    class One(App):
        def compose(self):
            yield FormInput("100", select_on_focus=False)

    async def scenario():
        app = One()
        async with app.run_test() as pilot:
            field = app.query_one(FormInput)
            field.focus()
            await pilot.pause()
            keys = [("backspace", None)] * 3 + [("2", "2"), ("left", None), ("1", "1"), ("home", None), ("9", "9")]
            for key, character in keys:  # all queued at once, as one read of the terminal would
                app.post_message(events.Key(key, character))
            # Wait for the last key to be applied, then check the order they were applied in.
            await helpers.wait_for(pilot, lambda: "9" in field.value, 30, "the keys to be applied")
            assert field.value == "912"

    helpers.run_async(scenario())


def test_per_class_table_shows_precision_and_f1_where_eval_json_has_them(helpers):
    from kerasketch.tui.present import imbalance_short
    from kerasketch.tui.widgets.class_tables import PerClassTable

    new = [
        {"class": "cat", "train_count": 90, "test_support": 10, "accuracy": 0.8, "precision": 0.5, "f1": 0.6154},
        {"class": "dog", "train_count": 30, "test_support": 10, "accuracy": 0.4, "precision": 0.9, "f1": 0.5538},
    ]
    old = [{k: v for k, v in row.items() if k not in ("precision", "f1")} for row in new]

    class Two(App):
        def compose(self):
            yield PerClassTable(new, id="new")
            yield PerClassTable(old, id="old")

    async def scenario():
        app = Two()
        async with app.run_test(size=(80, 24)):
            table = app.query_one("#new", PerClassTable)
            assert [str(c.label) for c in table.columns.values()][-2:] == ["prec", "F1"]
            assert [str(v) for v in table.get_row_at(0)] == ["dog", "30", "10", "0.400", "0.900", "0.554"]
            assert len(app.query_one("#old", PerClassTable).columns) == 4

    helpers.run_async(scenario())
    imbalance = {"spearman_ci95_low": -0.1, "spearman_ci95_high": 0.5}
    assert imbalance_short(0.3, imbalance) == "size vs accuracy: Spearman +0.30 (weak), 95% CI [-0.10, +0.50]"
    assert imbalance_short(0.3) == "size vs accuracy: Spearman +0.30 (weak)"
