"""Few-shot examples of the movie recommendation suite for chat models (planner and joiner)."""

PLANNER_EXAMPLES = """\
Question: Find a movie similar to Coco, Zootopia, Moana, Paddington 2
Options:
Encanto
Eraserhead
The Seventh Seal
Sicario
Thought: Every film and every option is an independent lookup, so all eight searches go out at once.
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
###
Question: Find a movie similar to Get Out, Hereditary, It Follows, Midsommar
Options:
Cars 2
Chef
The Witch
Mamma Mia
1. search("Get Out")
2. search("Hereditary")
3. search("It Follows")
4. search("Midsommar")
5. search("Cars 2")
6. search("Chef")
7. search("The Witch")
8. search("Mamma Mia")
9. join()<END_OF_PLAN>
###
Question: Find a movie similar to Ex Machina, Arrival, Annihilation, Blade Runner 2049
Options:
Legally Blonde
Step Brothers
Her
Happy Feet
1. search("Ex Machina")
2. search("Arrival")
3. search("Annihilation")
4. search("Blade Runner 2049")
5. search("Legally Blonde")
6. search("Step Brothers")
7. search("Her")
8. search("Happy Feet")
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
Observation: Coco is a 2017 American animated fantasy film produced by Pixar. Set in Mexico on the Day of the Dead, it follows a boy who dreams of becoming a musician and crosses into the Land of the Dead.
2. search("Zootopia")
Observation: Zootopia is a 2016 American animated buddy comedy film produced by Walt Disney Animation Studios, set in a city of talking animals.
3. search("Moana")
Observation: Moana is a 2016 American animated musical adventure film produced by Walt Disney Animation Studios, about a chief's daughter who sails across the Pacific with the demigod Maui.
4. search("Paddington 2")
Observation: Paddington 2 is a 2017 family comedy film directed by Paul King, in which the bear Paddington is wrongly jailed for stealing a pop-up book.
5. search("Encanto")
Observation: Encanto is a 2021 American animated musical fantasy comedy film produced by Walt Disney Animation Studios, about a Colombian family whose members each have a magical gift.
6. search("Eraserhead")
Observation: Eraserhead is a 1977 American experimental surrealist horror film written and directed by David Lynch.
7. search("The Seventh Seal")
Observation: The Seventh Seal is a 1957 Swedish historical fantasy film written and directed by Ingmar Bergman, in which a knight plays chess with Death during the Black Death.
8. search("Sicario")
Observation: Sicario is a 2015 American crime thriller film directed by Denis Villeneuve, about an FBI agent drawn into the drug war on the border between the United States and Mexico.
Thought: The four films are recent, warm family films, three of them animated musicals or comedies from Disney and Pixar. Encanto is a Disney animated musical of the same kind; the other options are an experimental horror film, a Swedish art film and a crime thriller.
Action: Finish(Encanto)
###
Question: Find a movie similar to Ex Machina, Arrival, Annihilation, Blade Runner 2049
Options:
Legally Blonde
Step Brothers
Her
Happy Feet

Plan and results:
1. search("Ex Machina")
Observation: Ex Machina is a 2014 science fiction film written and directed by Alex Garland, in which a programmer is invited to judge whether a humanoid robot is conscious.
2. search("Arrival")
Observation: Arrival is a 2016 American science fiction drama film directed by Denis Villeneuve, in which a linguist tries to communicate with aliens who have landed on Earth.
3. search("Annihilation")
Observation: Annihilation is a 2018 science fiction horror film written and directed by Alex Garland, based on the novel by Jeff VanderMeer.
4. search("Blade Runner 2049")
Observation: Blade Runner 2049 is a 2017 American neo-noir science fiction film directed by Denis Villeneuve and the sequel to Blade Runner (1982).
5. search("Legally Blonde")
Observation: Legally Blonde is a 2001 American comedy film starring Reese Witherspoon as a sorority president who enrolls at Harvard Law School.
6. search("Step Brothers")
Observation: Step Brothers is a 2008 American comedy film directed by Adam McKay, starring Will Ferrell and John C. Reilly as two grown men who become stepbrothers.
7. search("Her")
Observation: Her is a 2013 American science fiction romantic drama film written and directed by Spike Jonze, about a man who falls in love with an artificially intelligent operating system.
8. search("Happy Feet")
Observation: Happy Feet is a 2006 animated musical comedy film directed by George Miller, about an emperor penguin who cannot sing but can tap dance.
Thought: The four films are thoughtful science fiction dramas of the 2010s, two of them about artificial minds. Her is a 2010s science fiction drama about an artificial intelligence; the other options are comedies.
Action: Finish(Her)
###
Question: Find a movie similar to Nightcrawler, Zodiac, Prisoners, Gone Girl
Options:
Memories of Murder
Burning
Chicken Run
Julie & Julia

Plan and results:
1. search("Nightcrawler")
Observation: Nightcrawler is a 2014 American neo-noir thriller film written and directed by Dan Gilroy, starring Jake Gyllenhaal as a freelance crime reporter in Los Angeles.
2. search("Zodiac")
Observation: Zodiac is a 2007 American mystery thriller film directed by David Fincher, about the long hunt for the Zodiac Killer in the San Francisco Bay Area.
3. search("Prisoners")
Observation: Prisoners is a 2013 American thriller film directed by Denis Villeneuve, in which a father takes the law into his own hands after his daughter is abducted.
4. search("Gone Girl")
Observation: Gone Girl is a 2014 American psychological thriller film directed by David Fincher, based on the novel by Gillian Flynn.
5. search("Memories of Murder")
Observation: ERROR: ToolTimeoutError: search timed out after 10s
6. search("Burning")
Observation: Combustion, or burning, is a chemical reaction between a fuel and an oxidant, usually oxygen from the air, that releases heat and often light.
7. search("Chicken Run")
Observation: Chicken Run is a 2000 stop-motion animated comedy film produced by Aardman Animations, about a group of chickens who plot to escape from their farm.
8. search("Julie & Julia")
Observation: Julie & Julia is a 2009 American biographical comedy-drama film written and directed by Nora Ephron, about the chef Julia Child and a young woman who cooks every recipe of her first book.
Thought: The four films are dark crime and mystery thrillers. Chicken Run and Julie & Julia are comedies, so the answer is Memories of Murder or Burning, but nothing is known about either film: one search timed out and the other found the article on combustion.
Action: Replan(the search for Memories of Murder timed out and the search for Burning returned the article on combustion instead of the film; search both again, Burning as a film title, to see which is a crime thriller)
###"""
