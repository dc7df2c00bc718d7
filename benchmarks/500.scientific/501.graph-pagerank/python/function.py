"""501.graph-pagerank: PageRank of a seeded Barabasi-Albert graph (igraph); returns vertex 0's rank."""
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
    ranks = graph.pagerank()
    process_end = datetime.datetime.now()

    return {
        "result": ranks[0],
        "measurement": {
            "graph_generating_time": _us(graph_begin, graph_end),
            "compute_time": _us(process_begin, process_end),
            # For validation: PageRank is a probability distribution over the vertices.
            "rank_sum": sum(ranks),
            "vertices": graph.vcount(),
            "edges": graph.ecount(),
        },
    }
