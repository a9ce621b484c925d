# Solutions to the exercises of notebooks/08_concurrency_rate_limits.ipynb.

# %% Exercise 08.1
def fastest_batch_seconds(n, rpm, concurrency, answer_seconds):
    starts = []
    for k in range(n):
        start = 0.0 if k == 0 else starts[k - 1] + 60 / rpm     # the RPM: one start every 60/rpm seconds
        if k >= concurrency:                                    # the concurrency: wait for a request to finish
            start = max(start, starts[k - concurrency] + answer_seconds)
        starts.append(start)
    return starts[-1] + answer_seconds

# %% Exercise 08.2
tier2_url = limits_base_url("tier2", scale=SCALE)
tier2_rpm = TIERS["tier2"].rpm
tier2_concurrency = TIERS["tier2"].concurrency
