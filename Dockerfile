FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY schema schema
COPY resolvers resolvers
COPY db db
COPY server server
RUN pip install --no-cache-dir .
USER nobody
EXPOSE 8000
CMD ["dealerdesk", "serve", "--host", "0.0.0.0", "--port", "8000", "--migrate"]
