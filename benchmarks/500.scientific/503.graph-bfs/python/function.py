"""503.graph-bfs: breadth-first search from vertex 0 of a seeded Barabasi-Albert graph (igraph).

Returns igraph's (order, layers, parents): the visit order, the start index of each layer in
`order` (plus the end), and each vertex's BFS parent (the root's is -1).
"""
import datetime
import random

import igraph


def _us(begin, end):
    return (end - begin) / datetime.timedelta(microseconds=1)


def handler(event):
    size = event.get("size")
    if "seed" in event:
        # python-igraph draws its random numbers from Python's `random` module.
        random.seed(event["seed"])

    graph_begin = datetime.datetime.now()
    graph = igraph.Graph.Barabasi(size, 10)
    graph_end = datetime.datetime.now()

    process_begin = datetime.datetime.now()
    order, layers, parents = graph.bfs(0)
    process_end = datetime.datetime.now()

    return {
        "result": [order, layers, parents],
        "measurement": {
            "graph_generating_time": _us(graph_begin, graph_end),
            "compute_time": _us(process_begin, process_end),
            "vertices": graph.vcount(),
            "edges": graph.ecount(),
        },
    }
