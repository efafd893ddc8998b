"""Few-shot examples of the HotpotQA suite for chat models (planner and joiner)."""

PLANNER_EXAMPLES = """\
Question: Were Frida Kahlo and Diego Rivera of the same nationality?
Thought: The two painters are independent lookups, so both searches go out at once.
1. search("Frida Kahlo")
2. search("Diego Rivera")
3. join()<END_OF_PLAN>
###
Question: Which band was formed first, Radiohead or Portishead?
1. search("Radiohead")
2. search("Portishead (band)")
3. join()<END_OF_PLAN>
###
Question: Are Lake Bled and Lake Ohrid located in the same country?
1. search("Lake Bled")
2. search("Lake Ohrid")
3. join()<END_OF_PLAN>
###
Question: Were the board games Carcassonne and Ticket to Ride designed by the same person?
Thought: Each game's page names its designer; look up both games in parallel.
1. search("Carcassonne (board game)")
2. search("Ticket to Ride (board game)")
3. join()<END_OF_PLAN>
###"""

JOINER_EXAMPLES = """\
Question: Were Haruki Murakami and Kazuo Ishiguro both born in Japan?

Plan and results:
1. search("Haruki Murakami")
Observation: Haruki Murakami (born 12 January 1949) is a Japanese novelist and translator. Born in Kyoto, he grew up in Kobe; his novels, among them Norwegian Wood and Kafka on the Shore, have been translated into dozens of languages.
2. search("Kazuo Ishiguro")
Observation: Sir Kazuo Ishiguro (born 8 November 1954) is a British novelist and screenwriter. He was born in Nagasaki, Japan, and moved to England with his family in 1960. He received the Nobel Prize in Literature in 2017.
Thought: Murakami was born in Kyoto and Ishiguro in Nagasaki, so both were born in Japan, even though Ishiguro is British.
Action: Finish(yes)
###
Question: Who was born first, Ada Lovelace or Charles Babbage?

Plan and results:
1. search("Ada Lovelace")
Observation: Augusta Ada King, Countess of Lovelace (10 December 1815 - 27 November 1852), was an English mathematician and writer, best known for her notes on Charles Babbage's proposed Analytical Engine.
2. search("Charles Babbage")
Observation: Charles Babbage (26 December 1791 - 18 October 1871) was an English mathematician, engineer and inventor who designed the Difference Engine and the Analytical Engine, early mechanical computers.
Thought: Babbage was born in 1791 and Lovelace in 1815, so Babbage was born first.
Action: Finish(Charles Babbage)
###
Question: Are Lake Bled and Lake Ohrid located in the same country?

Plan and results:
1. search("Lake Bled")
Observation: Lake Bled is a lake in the Julian Alps in the Upper Carniolan region of northwestern Slovenia, next to the town of Bled. It is known for its small island with a pilgrimage church.
2. search("Lake Ohrid")
Observation: ERROR: ToolTimeoutError: search timed out after 10s
Thought: Lake Bled is in Slovenia, but the search for Lake Ohrid failed, so its country is still unknown.
Action: Replan(the search for Lake Ohrid timed out; its country is needed to compare with Slovenia)
###
Question: Were the board games Carcassonne and Ticket to Ride designed by the same person?

Plan and results:
1. search("Carcassonne (board game)")
Observation: Carcassonne is a tile-placement board game for two to five players, designed by Klaus-Jürgen Wrede and first published in Germany in 2000. Players build a medieval landscape of cities, roads and fields.
2. search("Ticket to Ride (board game)")
Observation: Ticket to Ride is a railway-themed board game designed by Alan R. Moon and published in 2004 by Days of Wonder. Players collect train cards to claim routes between cities.
Thought: Carcassonne was designed by Klaus-Jürgen Wrede and Ticket to Ride by Alan R. Moon: two different people.
Action: Finish(no)
###"""
