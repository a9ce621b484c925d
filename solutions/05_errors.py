# Solutions for notebooks/05_errors.ipynb. Each section replaces the body of one exercise cell.

# %% Exercise 05.1
def should_retry(status, error_type):
    if status >= 500:
        return True                     # something broke on Kimi's side: a later try can succeed
    return status == 429 and error_type in {"rate_limit_reached_error", "engine_overloaded_error"}

# %% Exercise 05.2
def retry_after_seconds(message):
    found = re.search(r"try again after (\d+(?:\.\d+)?) seconds?", message)
    return float(found.group(1)) if found else None

# %% Exercise 05.3
def support_note(error):
    response = getattr(error, "response", None)           # only when the service answered
    return {
        "request_id": response.headers.get("msh-request-id") if response is not None else None,
        "status": getattr(error, "status_code", None),
        "type": error.type,
        "message": error.message,
    }
