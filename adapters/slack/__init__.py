"""The Slack platform: a slack-bolt app in Socket Mode or HTTP mode, over the shared core."""
