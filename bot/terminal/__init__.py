"""The terminal front end: rich rendering and line-by-line input over the same engine the Slack app uses."""
