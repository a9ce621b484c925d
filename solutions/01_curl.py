# Solutions for notebooks/01_curl.ipynb: each section replaces the body of one exercise cell.
# A `!curl` cell is written as the call IPython makes of it; the solution notebook shows it as `out = !curl ...`.

# %% Exercise 01.1
out = get_ipython().getoutput(r"""curl -sS $KIMI_BASE_URL/chat/completions \
  -H "Content-Type: application/json" \
  -H "Authorization: Bearer $MOONSHOT_API_KEY" \
  -d '{"model": "'"$KIMI_MODEL"'", \
       "messages": [{"role": "user", "content": "用一句话介绍你自己"}]}'""")

# %% Exercise 01.2
answer = reply["choices"][0]["message"]["content"]
finish_reason = reply["choices"][0]["finish_reason"]
total_tokens = reply["usage"]["total_tokens"]

# %% Exercise 01.3
# With this model, leave temperature out ("temperature": 1 works too: the one value it allows while thinking).
out = get_ipython().getoutput(r"""curl -sS -i $KIMI_BASE_URL/chat/completions \
  -H "Content-Type: application/json" \
  -H "Authorization: Bearer $MOONSHOT_API_KEY" \
  -d '{"model": "'"$KIMI_MODEL"'", \
       "messages": [{"role": "user", "content": "你好，我叫李雷，1+1等于多少？"}]}'""")
