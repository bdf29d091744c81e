"""The Coolblue Communities API client. Knows nothing of Slack."""
