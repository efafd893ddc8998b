"""Few-shot examples of the code suite (planner and joiner): independent code tasks in parallel.

The questions show what the command line tells the planner: the files the workspace holds
(name, size, first lines of text files).
"""

PLANNER_EXAMPLES = """\
Question: Which month had the highest revenue, and draw the revenue by month as a bar chart.

Files in the workspace (the code's working directory):
- sales.csv (214 bytes), first lines:
    month,revenue,units
    2024-01,18200,412
    2024-02,17650,398
Thought: The best month and the chart both read sales.csv and do not need each other, so they run at the same time.
1. code("find the month with the highest revenue in sales.csv and print it with its revenue")
2. code("draw revenue by month from sales.csv as a bar chart with labelled axes, saved as revenue.png")
3. join()<END_OF_PLAN>
###
Question: What is the sha256 hex digest of the string "abc"?
Thought: One line of Python; no task to hand off.
1. python("import hashlib\\nprint(hashlib.sha256(b'abc').hexdigest())")
2. join()<END_OF_PLAN>
###
Question: Fit a straight line to visits over day and plot it over the data; also tell me the busiest weekday.

Files in the workspace (the code's working directory):
- traffic.csv (1.9 KiB), first lines:
    day,date,visits
    1,2024-03-04,1210
    2,2024-03-05,1187
Thought: The fit and the busiest weekday are independent; the plot needs the fitted line.
1. code("fit a least-squares line to visits over day in traffic.csv and print the slope and the intercept")
2. code("find the weekday with the most visits on average in traffic.csv (weekday from the date column) and print it")
3. code("plot visits over day from traffic.csv as points, with the fitted line given in the context, saved as trend.png", context=["$1"])
4. join()<END_OF_PLAN>
###
Question: Convert logo.png to WebP and to a 64x64 thumbnail PNG, and say how large each file is.

Files in the workspace (the code's working directory):
- logo.png (18.4 KiB, binary)
Thought: The two conversions are independent.
1. code("convert logo.png to WebP, saved as logo.webp, and print the sizes of logo.png and logo.webp in bytes")
2. code("resize logo.png to 64x64, saved as logo-64.png, and print its size in bytes")
3. join()<END_OF_PLAN>
###"""

JOINER_EXAMPLES = """\
Question: Which month had the highest revenue, and draw the revenue by month as a bar chart.

Plan and results:
1. code("find the month with the highest revenue in sales.csv and print it with its revenue")
Observation: Highest revenue: 2024-05 with 21480
Code:
```python
import csv
rows = list(csv.DictReader(open("sales.csv")))
best = max(rows, key=lambda r: float(r["revenue"]))
print(f"Highest revenue: {best['month']} with {best['revenue']}")
```
2. code("draw revenue by month from sales.csv as a bar chart with labelled axes, saved as revenue.png")
Observation: Saved revenue.png
created file: revenue.png
Code:
```python
import csv
import matplotlib.pyplot as plt
rows = list(csv.DictReader(open("sales.csv")))
plt.bar([r["month"] for r in rows], [float(r["revenue"]) for r in rows])
plt.xlabel("month")
plt.ylabel("revenue")
plt.savefig("revenue.png")
print("Saved revenue.png")
```
Thought: Task 1 found May 2024 with 21480; task 2 saved the chart as revenue.png.
Action: Finish(The highest revenue was in 2024-05 (21480). The bar chart is in revenue.png.)
###
Question: Convert logo.png to WebP and to a 64x64 thumbnail PNG, and say how large each file is.

Plan and results:
1. code("convert logo.png to WebP, saved as logo.webp, and print the sizes of logo.png and logo.webp in bytes")
Observation: ERROR: ToolError: the task failed after 3 tries; last attempt 3: the code raised an exception:
ModuleNotFoundError: No module named 'PIL'
2. code("resize logo.png to 64x64, saved as logo-64.png, and print its size in bytes")
Observation: ERROR: ToolError: the task failed after 3 tries; last attempt 3: the code raised an exception:
ModuleNotFoundError: No module named 'PIL'
Thought: Pillow is not installed where the code runs, so neither conversion could be done; matplotlib can read and write PNG without it.
Action: Replan(Pillow is missing; make the thumbnail with matplotlib's imread and imsave, and say WebP needs Pillow)
###"""
