"""Few-shot examples of the movie recommendation suite for the ReAct baseline (one search per step)."""

REACT_EXAMPLES = """\
Question: Find a movie similar to Coco, Zootopia, Moana, Paddington 2
Options:
Encanto
Eraserhead
The Seventh Seal
Sicario
Thought: I will look up the four films one by one, starting with Coco.
Action: search("Coco")
Observation: Coco is a 2017 American animated fantasy film produced by Pixar, set in Mexico on the Day of the Dead.
Thought: Coco is an animated family film. Next, Zootopia.
Action: search("Zootopia")
Observation: Zootopia is a 2016 American animated buddy comedy film produced by Walt Disney Animation Studios.
Thought: Another animated family film. Next, Moana.
Action: search("Moana")
Observation: Moana is a 2016 American animated musical adventure film produced by Walt Disney Animation Studios.
Thought: Next, Paddington 2.
Action: search("Paddington 2")
Observation: Paddington 2 is a 2017 family comedy film directed by Paul King, about a bear from Peru living in London.
Thought: All four are recent family films. Now the options, starting with Encanto.
Action: search("Encanto")
Observation: Encanto is a 2021 American animated musical fantasy comedy film produced by Walt Disney Animation Studios.
Thought: Encanto is a Disney animated musical. I will check the other options too.
Action: search("Eraserhead")
Observation: Eraserhead is a 1977 American experimental surrealist horror film written and directed by David Lynch.
Thought: Not a family film. Next, The Seventh Seal.
Action: search("The Seventh Seal")
Observation: The Seventh Seal is a 1957 Swedish historical fantasy film written and directed by Ingmar Bergman.
Thought: A Swedish art film. Last, Sicario.
Action: search("Sicario")
Observation: Sicario is a 2015 American crime thriller film directed by Denis Villeneuve.
Thought: Only Encanto is a family film like the four given ones.
Action: Finish(Encanto)
###
Question: Find a movie similar to Ex Machina, Arrival, Annihilation, Blade Runner 2049
Options:
Legally Blonde
Step Brothers
Her
Happy Feet
Thought: I will look up the four films one by one, starting with Ex Machina.
Action: search("Ex Machina")
Observation: Ex Machina is a 2014 science fiction film written and directed by Alex Garland, about a humanoid robot.
Thought: A science fiction film. Next, Arrival.
Action: search("Arrival")
Observation: Arrival is a 2016 American science fiction drama film directed by Denis Villeneuve.
Thought: Next, Annihilation.
Action: search("Annihilation")
Observation: Annihilation is a 2018 science fiction horror film written and directed by Alex Garland.
Thought: Next, Blade Runner 2049.
Action: search("Blade Runner 2049")
Observation: Blade Runner 2049 is a 2017 American neo-noir science fiction film directed by Denis Villeneuve.
Thought: All four are serious science fiction films of the 2010s. Now the options, starting with Legally Blonde.
Action: search("Legally Blonde")
Observation: Legally Blonde is a 2001 American comedy film starring Reese Witherspoon.
Thought: A comedy. Next, Step Brothers.
Action: search("Step Brothers")
Observation: Step Brothers is a 2008 American comedy film starring Will Ferrell and John C. Reilly.
Thought: Another comedy. Next, Her.
Action: search("Her")
Observation: Her is a 2013 American science fiction romantic drama film written and directed by Spike Jonze.
Thought: Her is a science fiction drama. Last, Happy Feet.
Action: search("Happy Feet")
Observation: Happy Feet is a 2006 animated musical comedy film about an emperor penguin.
Thought: Her is the only science fiction film among the options.
Action: Finish(Her)
###"""

REACT_LLAMA_EXAMPLES = """\
Question: Find a movie similar to Coco, Zootopia, Moana, Paddington 2
Options:
Encanto
Eraserhead
The Seventh Seal
Sicario
Thought: I need to look up Coco.
Action: search("Coco")
Observation: Coco is a 2017 American animated fantasy film produced by Pixar.
Thought: I need to look up Zootopia.
Action: search("Zootopia")
Observation: Zootopia is a 2016 American animated comedy film by Walt Disney Animation Studios.
Thought: I need to look up Moana.
Action: search("Moana")
Observation: Moana is a 2016 American animated musical film by Walt Disney Animation Studios.
Thought: I need to look up Paddington 2.
Action: search("Paddington 2")
Observation: Paddington 2 is a 2017 family comedy film directed by Paul King.
Thought: I need to look up Encanto.
Action: search("Encanto")
Observation: Encanto is a 2021 American animated musical film by Walt Disney Animation Studios.
Thought: I need to look up Eraserhead.
Action: search("Eraserhead")
Observation: Eraserhead is a 1977 American surrealist horror film by David Lynch.
Thought: I need to look up The Seventh Seal.
Action: search("The Seventh Seal")
Observation: The Seventh Seal is a 1957 Swedish fantasy film by Ingmar Bergman.
Thought: I need to look up Sicario.
Action: search("Sicario")
Observation: Sicario is a 2015 American crime thriller film directed by Denis Villeneuve.
Thought: The four films are family films. Encanto is the only family film among the options.
Action: Finish(Encanto)
###
Question: Find a movie similar to Mad Max Fury Road, John Wick, Atomic Blonde, Baby Driver
Options:
Call Me by Your Name
Top Gun Maverick
Minari
Sing Street
Thought: I need to look up Mad Max Fury Road.
Action: search("Mad Max Fury Road")
Observation: Mad Max: Fury Road is a 2015 post-apocalyptic action film directed by George Miller.
Thought: I need to look up John Wick.
Action: search("John Wick")
Observation: John Wick is a 2014 American action thriller film starring Keanu Reeves.
Thought: I need to look up Atomic Blonde.
Action: search("Atomic Blonde")
Observation: Atomic Blonde is a 2017 American spy action thriller film starring Charlize Theron.
Thought: I need to look up Baby Driver.
Action: search("Baby Driver")
Observation: Baby Driver is a 2017 action crime film written and directed by Edgar Wright.
Thought: I need to look up Call Me by Your Name.
Action: search("Call Me by Your Name")
Observation: Call Me by Your Name is a 2017 coming-of-age romantic drama film directed by Luca Guadagnino.
Thought: I need to look up Top Gun Maverick.
Action: search("Top Gun Maverick")
Observation: Top Gun: Maverick is a 2022 American action drama film directed by Joseph Kosinski.
Thought: I need to look up Minari.
Action: search("Minari")
Observation: Minari is a 2020 American family drama film written and directed by Lee Isaac Chung.
Thought: I need to look up Sing Street.
Action: search("Sing Street")
Observation: Sing Street is a 2016 musical comedy-drama film directed by John Carney.
Thought: The four films are action films. Top Gun Maverick is the only action film among the options.
Action: Finish(Top Gun Maverick)
###"""
