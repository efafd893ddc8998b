"""ReAct examples of the code suite."""

REACT_EXAMPLES = """\
Question: What is the sha256 hex digest of the string "abc"?
Thought: One line of Python computes it.
Action: python("import hashlib\\nprint(hashlib.sha256(b'abc').hexdigest())")
Observation: ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
Thought: That is the digest.
Action: Finish(ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad)
###"""
