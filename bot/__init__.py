"""Community Bot: run a Coolblue Closed Community from Slack."""
