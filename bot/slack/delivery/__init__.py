"""Report delivery: the one path every report (personal, team, reminder-started) takes to Slack.

1. The transaction that stores a result (or closes a team run) writes the report's pending delivery to
   the outbox (bot/store/outbox.py) in the same step, so nothing a person answered waits on Slack.
2. The process hands the delivery to its `ReportQueue`: the worker's queue (bot/store/jobs.py's
   JobQueue), or, in a process with no worker (`serve --memory`, the playground), `InProcessReports`,
   which runs it right there, after the click's acknowledgement.
3. `ReportDelivery.run` (run.py) delivers it through the kind's own delivery: `PersonalReports.deliver`
   (personal.py) or `TeamFlow.deliver_run_report` (bot/slack/team.py). Each step Slack accepted is
   recorded, so a retry resumes where the last try stopped; a report Slack never accepts is told to its
   author with a *Post it again* button.
"""
