"""Few-shot examples of the movie recommendation suite for completion (non-chat) models.

The prompt is flattened into one text that the model continues, so the examples are short,
all of one shape, and each ends with the same `###` line.
"""

PLANNER_EXAMPLES = """\
Question: Find a movie similar to Coco, Zootopia, Moana, Paddington 2
Options:
Encanto
Eraserhead
The Seventh Seal
Sicario
1. search("Coco")
2. search("Zootopia")
3. search("Moana")
4. search("Paddington 2")
5. search("Encanto")
6. search("Eraserhead")
7. search("The Seventh Seal")
8. search("Sicario")
9. join()<END_OF_PLAN>
###
Question: Find a movie similar to Mad Max Fury Road, John Wick, Atomic Blonde, Baby Driver
Options:
Call Me by Your Name
Top Gun Maverick
Minari
Sing Street
1. search("Mad Max Fury Road")
2. search("John Wick")
3. search("Atomic Blonde")
4. search("Baby Driver")
5. search("Call Me by Your Name")
6. search("Top Gun Maverick")
7. search("Minari")
8. search("Sing Street")
9. join()<END_OF_PLAN>
###"""

JOINER_EXAMPLES = """\
Question: Find a movie similar to Coco, Zootopia, Moana, Paddington 2
Options:
Encanto
Eraserhead
The Seventh Seal
Sicario

Plan and results:
1. search("Coco")
Observation: Coco is a 2017 American animated fantasy film produced by Pixar.
2. search("Zootopia")
Observation: Zootopia is a 2016 American animated comedy film by Walt Disney Animation Studios.
3. search("Moana")
Observation: Moana is a 2016 American animated musical film by Walt Disney Animation Studios.
4. search("Paddington 2")
Observation: Paddington 2 is a 2017 family comedy film directed by Paul King.
5. search("Encanto")
Observation: Encanto is a 2021 American animated musical film by Walt Disney Animation Studios.
6. search("Eraserhead")
Observation: Eraserhead is a 1977 American surrealist horror film by David Lynch.
7. search("The Seventh Seal")
Observation: The Seventh Seal is a 1957 Swedish fantasy film by Ingmar Bergman.
8. search("Sicario")
Observation: Sicario is a 2015 American crime thriller film directed by Denis Villeneuve.
Thought: The films are recent family films, mostly animated. Encanto is one too.
Action: Finish(Encanto)
###
Question: Find a movie similar to Mad Max Fury Road, John Wick, Atomic Blonde, Baby Driver
Options:
Call Me by Your Name
Top Gun Maverick
Minari
Sing Street

Plan and results:
1. search("Mad Max Fury Road")
Observation: Mad Max: Fury Road is a 2015 post-apocalyptic action film directed by George Miller.
2. search("John Wick")
Observation: John Wick is a 2014 American action thriller film starring Keanu Reeves.
3. search("Atomic Blonde")
Observation: Atomic Blonde is a 2017 American spy action thriller film starring Charlize Theron.
4. search("Baby Driver")
Observation: Baby Driver is a 2017 action crime film written and directed by Edgar Wright.
5. search("Call Me by Your Name")
Observation: ERROR: ToolTimeoutError: search timed out after 10s
6. search("Top Gun Maverick")
Observation: Top Gun: Maverick is a 2022 American action drama film directed by Joseph Kosinski.
7. search("Minari")
Observation: Minari is a 2020 American family drama film written and directed by Lee Isaac Chung.
8. search("Sing Street")
Observation: Sing Street is a 2016 musical comedy-drama film directed by John Carney.
Thought: The films are action films. Top Gun Maverick is an action film; the other known options are dramas.
Action: Finish(Top Gun Maverick)
###
Question: Find a movie similar to Nightcrawler, Zodiac, Prisoners, Gone Girl
Options:
Memories of Murder
Burning
Chicken Run
Julie & Julia

Plan and results:
1. search("Nightcrawler")
Observation: Nightcrawler is a 2014 American neo-noir thriller film starring Jake Gyllenhaal.
2. search("Zodiac")
Observation: Zodiac is a 2007 American mystery thriller film directed by David Fincher.
3. search("Prisoners")
Observation: Prisoners is a 2013 American thriller film directed by Denis Villeneuve.
4. search("Gone Girl")
Observation: Gone Girl is a 2014 American psychological thriller film directed by David Fincher.
5. search("Memories of Murder")
Observation: ERROR: ToolTimeoutError: search timed out after 10s
6. search("Burning")
Observation: Combustion, or burning, is a chemical reaction that releases heat and light.
7. search("Chicken Run")
Observation: Chicken Run is a 2000 stop-motion animated comedy film by Aardman Animations.
8. search("Julie & Julia")
Observation: Julie & Julia is a 2009 American comedy-drama film by Nora Ephron.
Thought: The films are crime thrillers. Memories of Murder and Burning are still unknown.
Action: Replan(search Memories of Murder and Burning again, Burning as a film title)
###"""
