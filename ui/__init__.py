"""The app's tabs, one module each, over the pure functions in `viz`; `common` holds what they share."""
