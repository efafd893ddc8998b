"""ReAct examples of the general suite."""

REACT_EXAMPLES = """\
Question: Who wrote the novel Solaris?
Thought: The novel's page names its author.
Action: search("Solaris (novel)")
Observation: Solaris is a 1961 science fiction novel by the Polish writer Stanisław Lem, about scientists studying a planet covered by a living ocean.
Thought: The author is Stanisław Lem.
Action: Finish(Stanisław Lem)
###"""
