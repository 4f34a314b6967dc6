-- The catalogue's permissions for the OpenAI API's resources beyond models (responses read,
-- assistants, threads, fine-tuning jobs, files, vector stores, batches) join the predefined roles
-- that organizations and projects made before them hold; roles made after hold them from the start.
-- Custom roles keep what their authors gave them.

UPDATE roles SET permissions = '["api.organization.read","api.organization.write","api.management.read","api.management.write","api.groups.read","api.groups.write","api.roles.read","api.roles.write","api.audit_logs.read","api.usage.read","api.organization.projects.api_keys.read","api.organization.projects.api_keys.write","api.project.read","api.model.read","api.model.request","api.responses.read","api.assistants.read","api.threads.read","api.fine_tuning.jobs.read","api.files.read","api.vector_stores.read","api.batch.read","api.responses.write","api.assistants.write","api.threads.write","api.fine_tuning.jobs.write","api.files.write","api.vector_stores.write","api.batch.write"]'
    WHERE predefined = 1 AND resource_type = 'api.organization' AND name = 'owner';

UPDATE roles SET permissions = '["api.roles.read","api.roles.write","api.usage.read","api.organization.projects.api_keys.read","api.organization.projects.api_keys.write","api.project.read","api.model.read","api.model.request","api.responses.read","api.assistants.read","api.threads.read","api.fine_tuning.jobs.read","api.files.read","api.vector_stores.read","api.batch.read","api.responses.write","api.assistants.write","api.threads.write","api.fine_tuning.jobs.write","api.files.write","api.vector_stores.write","api.batch.write"]'
    WHERE predefined = 1 AND resource_type = 'api.project' AND name = 'owner';

UPDATE roles SET permissions = '["api.usage.read","api.organization.projects.api_keys.read","api.organization.projects.api_keys.write","api.project.read","api.model.read","api.model.request","api.responses.read","api.assistants.read","api.threads.read","api.fine_tuning.jobs.read","api.files.read","api.vector_stores.read","api.batch.read","api.responses.write","api.assistants.write","api.threads.write","api.fine_tuning.jobs.write","api.files.write","api.vector_stores.write","api.batch.write"]'
    WHERE predefined = 1 AND resource_type = 'api.project' AND name = 'member';

UPDATE roles SET permissions = '["api.usage.read","api.organization.projects.api_keys.read","api.project.read","api.model.read","api.responses.read","api.assistants.read","api.threads.read","api.fine_tuning.jobs.read","api.files.read","api.vector_stores.read","api.batch.read"]'
    WHERE predefined = 1 AND resource_type = 'api.project' AND name = 'viewer';
