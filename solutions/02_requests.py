# Solutions for notebooks/02_requests.ipynb: each section replaces the body of one exercise cell.

# %% Exercise 02.1
session_1 = requests.Session()
session_1.headers["Authorization"] = f"Bearer {os.environ['MOONSHOT_API_KEY']}"
response_1 = session_1.post(url, json=body, timeout=60)

# %% Exercise 02.2
def kimi_chat_with_system(user_message, system=None, model=None, temperature=None, timeout=60):
    messages = [{"role": "user", "content": user_message}]
    if system is not None:
        messages = [{"role": "system", "content": system}] + messages
    body = {"model": model or course.model, "messages": messages}
    if temperature is not None:
        body["temperature"] = temperature
    response = requests.post(CHAT_URL, headers=HEADERS, json=body, timeout=timeout)
    response.raise_for_status()
    return response.json()["choices"][0]["message"]["content"]

# %% Exercise 02.3
summary_question = "用一句话总结我们刚才的对话。"
messages_3 = messages + [
    {"role": "assistant", "content": reply_2},
    {"role": "user", "content": summary_question},
]
