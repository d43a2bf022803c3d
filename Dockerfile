# One image for web, worker, beat and the simulator; docker-compose.yml picks the command.
FROM python:3.13-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN DEBUG=0 SECRET_KEY=build-only-not-secret ALLOWED_HOSTS=build python manage.py collectstatic --no-input
RUN useradd --system --home /app portal && mkdir -p /app/.run /data && chown portal /app/.run /data
USER portal
EXPOSE 8000
# gthread workers (see gunicorn.conf.py for why): a request waiting on IES does not hold the others.
CMD ["gunicorn", "portal.wsgi:application", "--config", "gunicorn.conf.py"]
