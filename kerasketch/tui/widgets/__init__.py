"""The dashboard's widgets: tables, charts, the heat map and progress."""
