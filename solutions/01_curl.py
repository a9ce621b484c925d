# Solutions for notebooks/01_curl.ipynb: each section replaces the body of one exercise cell.

# %% Exercise 01.1
out = !curl -sS $KIMI_BASE_URL/chat/completions \
  -H "Content-Type: application/json" \
  -H "Authorization: Bearer $MOONSHOT_API_KEY" \
  -d '{"model": "'"$KIMI_MODEL"'", \
       "messages": [{"role": "user", "content": "用一句话介绍你自己"}]}'

# %% Exercise 01.2
answer = reply["choices"][0]["message"]["content"]
finish_reason = reply["choices"][0]["finish_reason"]
total_tokens = reply["usage"]["total_tokens"]

# %% Exercise 01.3
# With this model, leave temperature out ("temperature": 1 works too: the one value it allows while thinking).
out = !curl -sS -i $KIMI_BASE_URL/chat/completions \
  -H "Content-Type: application/json" \
  -H "Authorization: Bearer $MOONSHOT_API_KEY" \
  -d '{"model": "'"$KIMI_MODEL"'", \
       "messages": [{"role": "user", "content": "你好，我叫李雷，1+1等于多少？"}]}'
