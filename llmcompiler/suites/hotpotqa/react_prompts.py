"""Few-shot examples of the HotpotQA suite for the ReAct baseline (one tool call per step)."""

REACT_EXAMPLES = """\
Question: Were Frida Kahlo and Diego Rivera of the same nationality?
Thought: I need the nationality of Frida Kahlo first.
Action: search("Frida Kahlo")
Observation: Frida Kahlo (6 July 1907 - 13 July 1954) was a Mexican painter known for her self-portraits and for works inspired by the folk art of Mexico.
Thought: Frida Kahlo was Mexican. Now I need the nationality of Diego Rivera.
Action: search("Diego Rivera")
Observation: Diego Rivera (8 December 1886 - 24 November 1957) was a Mexican painter whose large frescoes helped establish the Mexican muralism movement.
Thought: Both were Mexican, so they had the same nationality.
Action: Finish(yes)
###
Question: Which band was formed first, Radiohead or Portishead?
Thought: I need the year each band was formed, starting with Radiohead.
Action: search("Radiohead")
Observation: Radiohead are an English rock band formed in Abingdon, Oxfordshire, in 1985. The band's line-up has been unchanged since its formation.
Thought: Radiohead formed in 1985. Next, Portishead.
Action: search("Portishead")
Observation: Portishead is a town on the Severn Estuary in North Somerset, England, about 8 miles west of Bristol.
Thought: That page is about the town, not the band. I should search for the band explicitly.
Action: search("Portishead (band)")
Observation: Portishead are an English band formed in Bristol in 1991, one of the pioneers of trip hop.
Thought: Portishead formed in 1991, after Radiohead (1985).
Action: Finish(Radiohead)
###"""

REACT_LLAMA_EXAMPLES = """\
Question: Were Frida Kahlo and Diego Rivera of the same nationality?
Thought: I need the nationality of Frida Kahlo.
Action: search("Frida Kahlo")
Observation: Frida Kahlo (1907-1954) was a Mexican painter.
Thought: I need the nationality of Diego Rivera.
Action: search("Diego Rivera")
Observation: Diego Rivera (1886-1957) was a Mexican painter.
Thought: Both were Mexican.
Action: Finish(yes)
###
Question: Which band was formed first, Radiohead or Portishead?
Thought: I need the year Radiohead was formed.
Action: search("Radiohead")
Observation: Radiohead is an English rock band formed in 1985.
Thought: I need the year Portishead was formed.
Action: search("Portishead (band)")
Observation: Portishead is an English band formed in Bristol in 1991.
Thought: 1985 is earlier than 1991.
Action: Finish(Radiohead)
###"""
