# Solutions to the exercises of notebooks/07_conversations_tokens_cost.ipynb.
# Each section holds the code that replaces the exercise cell's body (everything after its first line).

# %% Exercise 07.1
def ask(history, question):
    history.append({"role": "user", "content": question})
    completion = client.chat.completions.create(model=course.model, messages=history)
    answer = completion.choices[0].message.content
    history.append({"role": "assistant", "content": answer})
    return answer

# %% Exercise 07.2
def count_tokens(messages):
    response = requests.post(
        f"{BASE_URL}/tokenizers/estimate-token-count",
        headers=HEADERS,
        json={"model": course.model, "messages": messages},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["data"]["total_tokens"]

# %% Exercise 07.3
def request_cost(prompt_tokens, completion_tokens, cached_tokens=0):
    return (cached_tokens * PRICE["cache_hit"]
            + (prompt_tokens - cached_tokens) * PRICE["cache_miss"]
            + completion_tokens * PRICE["output"]) / 1_000_000
