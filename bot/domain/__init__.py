"""The domain: requests, approvals, roles, policy, audit and execution. Knows nothing of
Slack or HTTP."""
