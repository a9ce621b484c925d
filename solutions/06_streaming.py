# Solutions to the exercises of notebooks/06_streaming.ipynb.
# Each section holds the code that replaces the exercise cell's body (everything after its first line).

# %% Exercise 06.1
def parse_events(lines):
    pending = []                                   # the data: lines of the event being read
    for line in lines:
        if line.startswith("data:"):
            pending.append(line[len("data:"):].strip())
        elif line == "" and pending:               # a blank line: the event is complete
            text = "\n".join(pending)              # the pending lines joined into one text
            pending = []
            if text == "[DONE]":
                return
            yield json.loads(text)                 # the event's JSON, decoded

# %% Exercise 06.2
started = time.perf_counter()
first_content_at = None
stream = client.chat.completions.create(
    model=course.model, messages=[{"role": "user", "content": POEM}], stream=True)
for chunk in stream:
    if chunk.choices and chunk.choices[0].delta.content and first_content_at is None:
        first_content_at = time.perf_counter() - started
total = time.perf_counter() - started

# %% Exercise 06.3
tips_body = {"model": course.model, "messages": [{"role": "user", "content": TIPS}], "stream": True}
first_tip = ""
with requests.post(f"{BASE_URL}/chat/completions", headers=HEADERS, json=tips_body, stream=True, timeout=60) as response:
    for raw in response.iter_lines():
        line = raw.decode("utf-8")
        if not line.startswith("data:"):
            continue
        data = line[len("data:"):].strip()
        if data == "[DONE]":
            break
        first_tip += json.loads(data)["choices"][0]["delta"].get("content") or ""
        if "\n" in first_tip:
            break                                  # the first tip is complete
first_tip = first_tip.split("\n")[0]
