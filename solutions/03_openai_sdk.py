# Solutions for notebooks/03_openai_sdk.ipynb: each section replaces the body of one exercise cell.

# %% Exercise 03.1
raw_1 = client.chat.completions.with_raw_response.create(model=course.model, messages=lab_messages)
request_id_1 = raw_1.headers["msh-request-id"]

# %% Exercise 03.2
question_2 = [{"role": "user", "content": "你能干吗？"}]
completion_2 = client.chat.completions.create(
    model=course.model,
    messages=question_2,
    extra_body={"thinking": {"type": "disabled"}},
)
reasoning_2 = getattr(completion_2.choices[0].message, "reasoning_content", None)

# %% Exercise 03.3
stream_3 = client.chat.completions.create(model=course.model, messages=paraphrase_messages, stream=True)
pieces_3 = []
for chunk in stream_3:
    piece = chunk.choices[0].delta.content
    if piece:
        pieces_3.append(piece)
answer_3 = "".join(pieces_3)
print(answer_3)
