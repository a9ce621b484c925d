# Solutions for notebooks/04_whats_the_difference.ipynb. Each section replaces the body of one exercise cell.

# %% Exercise 04.1
def which_client(entry):
    headers = {name.lower(): value for name, value in entry["headers"].items()}   # names are case-insensitive
    agent = headers.get("user-agent", "")
    if agent.startswith("curl/"):
        return "curl"
    if agent.startswith("python-requests/"):
        return "requests"
    if "openai" in agent.lower() or "x-stainless-lang" in headers:
        return "openai"
    return None

# %% Exercise 04.2
compact_headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
body_bytes = json.dumps(BODY, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
compact_response = requests.post(f"{BASE_URL}/chat/completions", headers=compact_headers, data=body_bytes, timeout=60)
