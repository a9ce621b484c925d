# Solutions for notebooks/00_setup_and_your_key.ipynb: each section replaces the body of one exercise cell.

# %% Exercise 00.1
import re

def looks_like_a_key(text):
    return re.search(r"sk-[A-Za-z0-9]{20,}", text) is not None

# %% Exercise 00.2
def read_key(environ):
    key = environ.get("MOONSHOT_API_KEY")
    if not key:
        raise RuntimeError("MOONSHOT_API_KEY is not set: put MOONSHOT_API_KEY=<your key> in the .env file "
                           "at the top of the course folder, then restart the kernel.")
    return key

# %% Exercise 00.3
BASE_URLS = {
    "platform.moonshot.cn": "https://api.moonshot.cn/v1",
    "platform.moonshot.ai": "https://api.moonshot.ai/v1",
}
