# Solutions for notebooks/10_test_and_use_your_client.ipynb: each section replaces the body of its exercise cell.

# %% Exercise 10.1
def check_server_error_is_retried(make_client):
    client = make_client(fault_base_url("server_error", times=1))   # which fault, and how many requests it fails
    reply = client.chat(BAIDU_QUESTION)
    assert reply.attempts == 2                                      # how many requests that took

# %% Exercise 10.2
def keep_recent(messages, max_turns):
    system = [m for m in messages if m["role"] == "system"]
    exchanges = [m for m in messages if m["role"] != "system"]    # question, answer, question, answer, ...
    keep = min(2 * max_turns, len(exchanges))                     # how many messages of `exchanges` to keep
    return system + exchanges[len(exchanges) - keep:]

# %% Exercise 10.3
def label_keywords(keywords, client, results):
    """Label each keyword not yet in results (keyword -> label); return the keywords that failed."""
    failed = []
    for keyword in keywords:
        if keyword in results:                    # labelled in an earlier run? skip it: no request, no cost
            continue
        try:
            reply = client.chat([{"role": "user", "content": LABEL_PROMPT + keyword}])
        except (QuotaExceeded, AuthenticationFailed):   # errors every later keyword would meet too: stop the run
            raise
        except KimiError:                         # only this keyword failed: note it and go on
            failed.append(keyword)
            continue
        results[keyword] = reply.text.strip()
    return failed
