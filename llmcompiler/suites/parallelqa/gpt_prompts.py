"""Few-shot examples of the ParallelQA suite for chat models (planner and joiner)."""

PLANNER_EXAMPLES = """\
Question: If Lake Baikal lost 20% of its maximum depth and Lake Tanganyika gained 10% of its maximum depth, which lake would be deeper?
Thought: Search both lakes at once, then adjust each depth in its own math call; the reader compares the two results.
1. search("Lake Baikal")
2. search("Lake Tanganyika")
3. math("Lake Baikal's maximum depth reduced by 20%", context=["$1"])
4. math("Lake Tanganyika's maximum depth increased by 10%", context=["$2"])
5. join()<END_OF_PLAN>
###
Question: If Greenland shrank by 10%, New Guinea grew by 25% and Madagascar doubled in area, what would be the difference in square kilometres between the largest and the smallest of the three islands?
1. search("Greenland")
2. search("New Guinea")
3. search("Madagascar")
4. math("Greenland's area reduced by 10%", context=["$1"])
5. math("New Guinea's area increased by 25%", context=["$2"])
6. math("Madagascar's area multiplied by 2", context=["$3"])
7. math("difference between the largest and the smallest of these three areas", context=["$4", "$5", "$6"])
8. join()<END_OF_PLAN>
###
Question: Which is the smallest of the diameter ratios of Earth to Mars, Venus to Mercury and Neptune to Earth?
Thought: Five planets, each searched once (Earth serves two ratios); the three ratios are independent, and a last call picks the smallest.
1. search("Earth")
2. search("Mars")
3. search("Venus")
4. search("Mercury (planet)")
5. search("Neptune")
6. math("ratio of Earth's diameter to Mars's diameter", context=["$1", "$2"])
7. math("ratio of Venus's diameter to Mercury's diameter", context=["$3", "$4"])
8. math("ratio of Neptune's diameter to Earth's diameter", context=["$5", "$1"])
9. math("the smallest of the numbers $6, $7 and $8")
10. join()<END_OF_PLAN>
###
Question: If Lake Superior grew by 5%, Lake Michigan by 10%, Lake Huron shrank by 5%, Lake Erie grew by 20% and Lake Ontario by 15%, what would be the average surface area of the five lakes in square kilometres?
1. search("Lake Superior")
2. search("Lake Michigan")
3. search("Lake Huron")
4. search("Lake Erie")
5. search("Lake Ontario")
6. math("Lake Superior's surface area increased by 5%", context=["$1"])
7. math("Lake Michigan's surface area increased by 10%", context=["$2"])
8. math("Lake Huron's surface area reduced by 5%", context=["$3"])
9. math("Lake Erie's surface area increased by 20%", context=["$4"])
10. math("Lake Ontario's surface area increased by 15%", context=["$5"])
11. math("average of these five areas", context=["$6", "$7", "$8", "$9", "$10"])
12. join()<END_OF_PLAN>
###"""

JOINER_EXAMPLES = """\
Question: If Lake Baikal lost 20% of its maximum depth and Lake Tanganyika gained 10% of its maximum depth, which lake would be deeper?

Plan and results:
1. search("Lake Baikal")
Observation: Lake Baikal is a rift lake in southern Siberia, Russia. With a maximum depth of 1,642 m, it is the deepest lake in the world and holds more fresh water than any other lake.
2. search("Lake Tanganyika")
Observation: Lake Tanganyika is an African Great Lake shared by Tanzania, the Democratic Republic of the Congo, Burundi and Zambia. With a maximum depth of 1,470 m, it is the second-deepest lake in the world.
3. math("Lake Baikal's maximum depth reduced by 20%", context=["$1"])
Observation: 1313.6
4. math("Lake Tanganyika's maximum depth increased by 10%", context=["$2"])
Observation: 1617
Thought: After the changes Lake Baikal would be 1313.6 m deep and Lake Tanganyika 1617 m deep, so Lake Tanganyika would be deeper.
Action: Finish(Lake Tanganyika)
###
Question: If Greenland shrank by 10%, New Guinea grew by 25% and Madagascar doubled in area, what would be the difference in square kilometres between the largest and the smallest of the three islands?

Plan and results:
1. search("Greenland")
Observation: Greenland is an autonomous territory of the Kingdom of Denmark and the world's largest island, with an area of 2,166,086 km2, most of it covered by an ice sheet.
2. search("New Guinea")
Observation: New Guinea is the world's second-largest island, with an area of 785,753 km2. It lies north of Australia and is divided between Indonesia and Papua New Guinea.
3. search("Madagascar")
Observation: Madagascar is an island country in the Indian Ocean off the coast of East Africa. At 587,041 km2 it is the fourth-largest island in the world.
4. math("Greenland's area reduced by 10%", context=["$1"])
Observation: 1949477.4
5. math("New Guinea's area increased by 25%", context=["$2"])
Observation: 982191.25
6. math("Madagascar's area multiplied by 2", context=["$3"])
Observation: 1174082
7. math("difference between the largest and the smallest of these three areas", context=["$4", "$5", "$6"])
Observation: 967286.15
Thought: The largest adjusted area is Greenland's (1949477.4 km2) and the smallest New Guinea's (982191.25 km2); their difference is 967286.15 km2.
Action: Finish(967286.15)
###
Question: Which is the smallest of the diameter ratios of Earth to Mars, Venus to Mercury and Neptune to Earth?

Plan and results:
1. search("Earth")
Observation: Earth is the third planet from the Sun and the only astronomical object known to harbour life. It has a mean diameter of about 12,742 km.
2. search("Mars")
Observation: Mars is the fourth planet from the Sun, a rocky world about 6,779 km in diameter, roughly half the size of Earth.
3. search("Venus")
Observation: Venus is the second planet from the Sun, with a diameter of about 12,104 km, close to that of Earth.
4. search("Mercury (planet)")
Observation: ERROR: ToolTimeoutError: search timed out after 10s
5. search("Neptune")
Observation: Neptune is the eighth and farthest known planet from the Sun, an ice giant about 49,244 km in diameter.
6. math("ratio of Earth's diameter to Mars's diameter", context=["$1", "$2"])
Observation: 1.8796
7. math("ratio of Venus's diameter to Mercury's diameter", context=["$3", "$4"])
Observation: skipped: $4 failed
8. math("ratio of Neptune's diameter to Earth's diameter", context=["$5", "$1"])
Observation: 3.8647
9. math("the smallest of the numbers $6, $7 and $8")
Observation: skipped: $7 failed
Thought: Two of the three ratios are known (1.8796 and 3.8647), but the Venus to Mercury ratio is missing because the search for Mercury timed out, so the smallest ratio cannot be decided yet.
Action: Replan(the search for Mercury timed out; search Mercury (planet) again, compute the ratio of Venus's diameter ($3) to Mercury's, and take the smallest of that ratio, $6 and $8)
###"""
