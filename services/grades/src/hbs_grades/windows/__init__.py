"""Time windows (Đ5): the dates each step may be done in, per school year and period; extensions
for one teacher or class; the moments each step was done, for lateness (Đ10).

For other packages: `WindowsService.window_for` / `.year(...).for_(...)` (the window in force),
`rules.lateness` and `EffectiveWindow.lateness` (pure), `models.StepMark` (when each item's step was
done), table names `time_windows`, `window_extensions`, `step_marks`."""
