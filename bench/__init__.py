"""`make bench`: newsdesk measured against the textbook LangChain pipeline, on the same machine, in the same run."""
