"""Markdown for analysis results (`analysis`) and fact-check results (`factcheck`).
Briefing notes have their own renderers in `assistant.briefing.render`."""
