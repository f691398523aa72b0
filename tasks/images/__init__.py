"""Images a person attaches to a task or a follow-up (issue 14 item 2): decoded, stored with the
task, served only to its team, and sent to the model as image inputs."""
