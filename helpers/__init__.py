"""Helpers for the Kimi API course: settings, the local server, recordings, checks and display.

In a notebook's first cell:

    from helpers import start
    course = start()
"""
from .course import (clear_request_log, current, fault_base_url, last_request, limits_base_url, local_server,
                     request_log, start)
from .settings import Settings, SettingsError, load_settings

__all__ = ["start", "current", "load_settings", "Settings", "SettingsError", "local_server", "fault_base_url",
           "limits_base_url", "request_log", "clear_request_log", "last_request"]
