"""Lesson 00 (setup and your key) sends no chat request.

Its only request to the API is GET /v1/models (does the setup reach the API, is the course's model listed?),
which the shared `models-list` recording in lab.py answers. RECORDINGS stays empty on purpose.
"""
RECORDINGS = []
